import Foundation
import PKICore

/// Writes and reads a ``PKICore/MediaBundle`` as a directory of files with its `MANIFEST`
/// (docs/files.md#media-bundles). Writing never overwrites (the directory must not exist, every file is O_EXCL and
/// fsynced, MANIFEST is written last); reading verifies the manifest before returning any byte.
public enum BundleDirectory {
    /// Creates `path` (mode 0755: media is for reading by other machines) and writes the bundle.
    public static func write(_ bundle: MediaBundle, to path: String, fileMode: mode_t = 0o644) throws {
        guard mkdir(path, 0o755) == 0 else {
            if errno == EEXIST { throw SecureFileError(.alreadyExists, "\(path) already exists; refusing to overwrite a bundle") }
            throw SecureFile.ioError("mkdir", path)
        }
        for (name, bytes) in bundle.filesToWrite {
            try SecureFile.writeExclusive(bytes, to: "\(path)/\(name)", mode: fileMode)
        }
        try SecureFile.syncDirectory(of: "\(path)/\(MediaBundle.manifestName)")
    }

    /// Reads every entry of `path` and verifies it against MANIFEST. Subdirectories, symlinks and
    /// other non-regular entries are refused (a bundle is a flat directory of files).
    public static func read(from path: String) throws -> MediaBundle {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            let reason =
                opendir(path).map {
                    closedir($0)
                    return "not readable"
                } ?? String(cString: strerror(errno))
            throw SecureFileError(
                .ioFailure,
                """
                cannot list bundle directory \(path): \(reason); give the bundle directory a ceremony or `appliance init` wrote \
                (it holds a MANIFEST), such as <media>/intermediate-cert
                """)
        }
        guard names.count <= 64 else { throw PKIError.bundle("\(path) has \(names.count) entries; a bundle has a handful") }
        var files: [String: [UInt8]] = [:]
        for name in names {
            files[name] = try SecureFile.read("\(path)/\(name)", maximumSize: MediaBundle.maximumFileSize)
        }
        return try MediaBundle.verify(files: files)
    }
}
