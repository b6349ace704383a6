internal import CHardening
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A secret handed over by systemd's `LoadCredential=` (systemd.exec(5), "Credentials"): a file in
/// `$CREDENTIALS_DIRECTORY`, written by the service manager as root with mode 0400 and made readable
/// to the service's `User=` by a POSIX ACL (or, on file systems without ACLs, by ownership). Such a
/// file is not "ours, 0600" as `--passphrase-file` otherwise demands, yet it is exactly as private:
/// this type checks that, instead of trusting the location alone.
enum SystemdCredential {
    /// Whether `path` names a file directly inside `$CREDENTIALS_DIRECTORY`.
    static func isCredential(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let directory = environment["CREDENTIALS_DIRECTORY"], directory.hasPrefix("/") else { return false }
        let parent = (path as NSString).deletingLastPathComponent
        return (parent as NSString).standardizingPath == (directory as NSString).standardizingPath
    }

    /// Refuses a credential anyone but root and the current user could read or anyone could write.
    static func checkPrivate(path: String, info: stat) throws {
        let me = geteuid()
        let mode = Int(info.st_mode & 0o777)
        func refuse(_ why: String) -> SecureFileError {
            SecureFileError(.insecurePermissions, "credential \(path) \(why); systemd's LoadCredential= writes it 0400 for the service user only")
        }
        guard info.st_uid == 0 || info.st_uid == me else { throw refuse("belongs to uid \(info.st_uid)") }
        guard mode & 0o222 == 0 else { throw refuse("is writable (mode \(String(format: "%04o", mode)))") }
        guard mode & 0o007 == 0 else { throw refuse("is readable by other users (mode \(String(format: "%04o", mode)))") }
        let directory = (path as NSString).deletingLastPathComponent
        var parent = stat()
        guard stat(directory, &parent) == 0 else { throw refuse("is in a directory that cannot be read: \(String(cString: strerror(errno)))") }
        guard parent.st_uid == 0 || parent.st_uid == me, parent.st_mode & 0o022 == 0 else {
            throw refuse("is in \(directory), which others could change")
        }
        // With an ACL the group bits of the mode are the ACL mask: read the entries themselves.
        guard let entries = try accessACL(path: path) else {
            guard mode & 0o070 == 0 else { throw refuse("is readable by its group (mode \(String(format: "%04o", mode)))") }
            return
        }
        for entry in entries where entry.permissions != 0 {
            switch entry.tag {
            case aclUserObject, aclMask: continue
            case aclUser where entry.id == me: continue
            case aclOther: throw refuse("is readable by other users (ACL)")
            case aclUser: throw refuse("is readable by another user or group (ACL entry user:\(entry.id))")
            default: throw refuse("is readable by another user or group (ACL entry for a group)")
            }
        }
    }

    // The Linux xattr encoding of a POSIX access ACL (linux/posix_acl_xattr.h): a 4-byte version (2),
    // then 8-byte entries of tag (u16), permissions (u16), id (u32), little endian.
    static let aclUserObject: UInt16 = 0x01, aclUser: UInt16 = 0x02, aclMask: UInt16 = 0x10, aclOther: UInt16 = 0x20

    /// The file's access ACL entries, or nil when it has none.
    static func accessACL(path: String) throws -> [(tag: UInt16, permissions: UInt16, id: UInt32)]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let size = Int(rootkeeper_access_acl(path, &buffer, UInt(buffer.count)))
        if size < 0 {
            if errno == ENODATA || errno == ENOTSUP { return nil }
            throw SecureFileError(.ioFailure, "cannot read the ACL of \(path): \(String(cString: strerror(errno)))")
        }
        guard size >= 4, (size - 4) % 8 == 0,
            UInt32(buffer[0]) | UInt32(buffer[1]) << 8 | UInt32(buffer[2]) << 16 | UInt32(buffer[3]) << 24 == 2
        else {
            throw SecureFileError(.unexpectedFile, "\(path) has an ACL in an unknown format")
        }
        return stride(from: 4, to: size, by: 8).map { offset in
            let tag = UInt16(buffer[offset]) | UInt16(buffer[offset + 1]) << 8
            let permissions = UInt16(buffer[offset + 2]) | UInt16(buffer[offset + 3]) << 8
            let id = (0..<4).reduce(UInt32(0)) { $0 | UInt32(buffer[offset + 4 + $1]) << (8 * $1) }
            return (tag, permissions, id)
        }
    }
}
