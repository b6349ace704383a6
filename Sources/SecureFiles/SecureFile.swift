#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// File operations for keys, certificates and media: exclusive creation, atomic replacement,
/// private directories and permission checks. Every write is fsynced, and so is the directory
/// entry, so a crash leaves either the old or the new file, never a torn one.
public enum SecureFile {
    /// Creates `path` with `mode` and writes `bytes`; refuses if anything exists there
    /// (O_CREAT|O_EXCL, and O_NOFOLLOW so a planted symlink is not followed).
    public static func writeExclusive(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else {
            if errno == EEXIST { throw SecureFileError(.alreadyExists, "\(path) already exists; refusing to overwrite") }
            throw ioError("create", path)
        }
        do {
            // umask may have cleared bits; set exactly what was asked.
            guard fchmod(fd, mode) == 0 else { throw ioError("chmod", path) }
            try writeAll(fd, bytes, path)
            guard fsync(fd) == 0 else { throw ioError("fsync", path) }
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
        guard close(fd) == 0 else { throw ioError("close", path) }
        try syncDirectory(of: path)
    }

    /// Replaces `path` atomically: writes a temporary file beside it, fsyncs, renames over the
    /// target and fsyncs the directory (POSIX rename(2) is atomic within a file system).
    public static func replaceAtomically(_ bytes: [UInt8], at path: String, mode: mode_t = 0o600) throws {
        var random = SystemRandomNumberGenerator()
        let temporary = "\(path).tmp-\(String(random.next(), radix: 16))"
        try writeExclusive(bytes, to: temporary, mode: mode)
        guard rename(temporary, path) == 0 else {
            let error = ioError("rename", path)
            unlink(temporary)
            throw error
        }
        try syncDirectory(of: path)
    }

    /// Creates a directory with mode 0700 (or `mode`), or checks that an existing one is a real
    /// directory we own with no group/other access.
    public static func createPrivateDirectory(_ path: String, mode: mode_t = 0o700) throws {
        if mkdir(path, mode) == 0 {
            guard chmod(path, mode) == 0 else { throw ioError("chmod", path) }
            try syncDirectory(of: path)
            return
        }
        guard errno == EEXIST else { throw ioError("mkdir", path) }
        var info = stat()
        guard lstat(path, &info) == 0 else { throw ioError("stat", path) }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw SecureFileError(.unexpectedFile, "\(path) exists and is not a directory") }
        guard info.st_uid == geteuid() else { throw SecureFileError(.insecurePermissions, "\(path) is not owned by us") }
        guard info.st_mode & 0o077 == 0 else {
            throw SecureFileError(.insecurePermissions, "\(path) is accessible by group or others (mode \(String(info.st_mode & 0o777, radix: 8)))")
        }
    }

    /// Refuses a private file (key, passphrase, PIN source) unless it is a regular file (not a
    /// symlink) owned by us with no group/other permission bits (0600 or stricter).
    public static func checkPrivateFile(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw ioError("stat", path) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw SecureFileError(.unexpectedFile, "\(path) is not a regular file") }
        guard info.st_uid == geteuid() else {
            throw SecureFileError(.insecurePermissions, "\(path) is not owned by the current user; chown it to the user that reads it")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw SecureFileError(
                .insecurePermissions,
                "\(path) is readable or writable by group or others (mode \(String(info.st_mode & 0o777, radix: 8)), must be 0600): run chmod 600 \(path)"
            )
        }
    }

    /// Reads a regular file (no symlinks) of at most `maximumSize` bytes.
    public static func read(_ path: String, maximumSize: Int = 16 << 20) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open", path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ioError("stat", path) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw SecureFileError(.unexpectedFile, "\(path) is not a regular file") }
        guard Int(info.st_size) <= maximumSize else { throw SecureFileError(.unexpectedFile, "\(path) is larger than \(maximumSize) bytes") }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ioError("read", path)
            }
            if count == 0 { break }
            result += buffer[0..<count]
            guard result.count <= maximumSize else { throw SecureFileError(.unexpectedFile, "\(path) grew past \(maximumSize) bytes") }
        }
        return result
    }

    /// fsyncs the directory holding `path` so a new or renamed entry survives a crash.
    static func syncDirectory(of path: String) throws {
        let directory = path.contains("/") ? String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) : "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open directory", directory) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ioError("fsync directory", directory) }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ioError("write", path)
            }
            offset += written
        }
    }

    /// read(2), named apart from ``read(_:maximumSize:)``.
    static func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
            Glibc.read(fd, buffer, count)
        #elseif canImport(Musl)
            Musl.read(fd, buffer, count)
        #else
            Darwin.read(fd, buffer, count)
        #endif
    }

    static func ioError(_ operation: String, _ path: String) -> SecureFileError {
        SecureFileError(.ioFailure, "\(operation) \(path) failed: \(String(cString: strerror(errno)))")
    }
}
