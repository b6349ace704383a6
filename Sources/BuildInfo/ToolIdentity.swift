import Crypto
import Foundation
import PKICore

#if canImport(Glibc)
    import Glibc
#endif

/// The running tool as an auditor identifies it: its build facts and the SHA-256 of the very
/// executable file the kernel started (`/proc/self/exe`), which officers compare with the
/// release's SHA256SUMS and the digest written in the paper log (Runbooks/ceremony-machine.md).
public struct ToolIdentity: Sendable, Equatable {
    public var name: String
    public var version: String
    public var commit: String
    public var buildDate: String
    /// SHA-256 (hex) of the executable.
    public var sha256: String

    public init(name: String, version: String, commit: String, buildDate: String, sha256: String) {
        self.name = name
        self.version = version
        self.commit = commit
        self.buildDate = buildDate
        self.sha256 = sha256
    }

    /// The identity of this process. Throws when the executable cannot be read: a ceremony must not
    /// start with a tool it cannot name.
    public static func running(name: String, executable: String = "/proc/self/exe") throws -> ToolIdentity {
        ToolIdentity(
            name: name, version: RootkeeperBuild.version, commit: RootkeeperBuild.commit, buildDate: RootkeeperBuild.date,
            sha256: try sha256(ofFile: executable))
    }

    /// The facts as transcript details (plain text, no secrets).
    public var details: [String: String] {
        ["tool": name, "version": version, "commit": commit, "build-date": buildDate, "sha256": sha256]
    }

    /// SHA-256 (hex) of a file, read in chunks.
    public static func sha256(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ToolIdentityError(message: "cannot read the executable \(path) to compute its SHA-256: \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: 1 << 20)
            } catch {
                throw ToolIdentityError(message: "cannot read the executable \(path) to compute its SHA-256: \(error)")
            }
            guard let chunk, !chunk.isEmpty else { break }
            hasher.update(data: chunk)
        }
        return Array(hasher.finalize()).hexString
    }
}

/// The executable could not be identified.
public struct ToolIdentityError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
