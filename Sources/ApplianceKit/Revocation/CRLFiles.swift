import Foundation
import PKICore
import SecureFiles

/// The CRL files of the state directory (docs/files.md#crl-files): `<state>/crl/<name>.crl` (DER, public,
/// 0644) and `<state>/crl/history/<name>-<number>.crl` for every version that was replaced.
///
/// Names: `intermediate` (the current issuer, served at `/crl/intermediate.crl`), `root`, and
/// `issuer-<ski>` for a retiring intermediate after a renewal (``retiringName(_:)``).
struct CRLFiles {
    let state: StateDirectory

    /// The file name (without `.crl`) of a retiring issuer's CRL.
    static func retiringName(_ ski: String) -> String { "issuer-\(ski)" }

    func currentPath(_ issuer: CRLIssuer) -> String { currentPath(issuer.rawValue) }
    func currentPath(_ name: String) -> String { state.path("crl", "\(name).crl") }

    func historyPath(_ issuer: CRLIssuer, _ number: CRLNumber) -> String { historyPath(issuer.rawValue, number) }
    func historyPath(_ name: String, _ number: CRLNumber) -> String { state.path("crl", "history", "\(name)-\(number).crl") }

    /// The bytes of the current file, nil when absent.
    func current(_ issuer: CRLIssuer) throws -> [UInt8]? { try current(issuer.rawValue) }
    func current(_ name: String) throws -> [UInt8]? {
        let path = currentPath(name)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try SecureFile.read(path, maximumSize: 512 << 20)
    }

    func install(_ der: [UInt8], number: CRLNumber, as issuer: CRLIssuer, replacing previous: ([UInt8], CRLNumber)?) throws {
        try install(der, number: number, as: issuer.rawValue, replacing: previous)
    }

    /// Keeps `replacing` in history (written first, O_EXCL, fsynced), then swaps the current file
    /// atomically. A failure leaves the old file in place and throws.
    func install(_ der: [UInt8], number: CRLNumber, as name: String, replacing previous: ([UInt8], CRLNumber)?) throws {
        if let previous, previous.1 != number {
            let (bytes, previousNumber) = previous
            let history = historyPath(name, previousNumber)
            if !FileManager.default.fileExists(atPath: history) {
                try ensureHistoryDirectory()
                if try !linkCurrent(name, holding: bytes, to: history) {
                    try SecureFile.writeExclusive(bytes, to: history, mode: 0o644)
                }
            }
        }
        try SecureFile.replaceAtomically(der, at: currentPath(name), mode: 0o644)
    }

    /// At `intermediate install`: the replaced intermediate's CRL and its history become the
    /// retiring issuer's (`issuer-<ski>.crl`, `history/issuer-<ski>-<n>.crl`), so the new
    /// intermediate's CRLs, numbered from 1 in their own sequence, never collide with them.
    func renameIntermediate(toRetiring ski: String) throws {
        let target = Self.retiringName(ski)
        var moves: [(String, String)] = [(currentPath("intermediate"), currentPath(target))]
        if FileManager.default.fileExists(atPath: state.crlHistoryDirectory) {
            for name in try FileManager.default.contentsOfDirectory(atPath: state.crlHistoryDirectory).sorted()
            where name.hasPrefix("intermediate-") && name.hasSuffix(".crl") {
                let renamed = target + "-" + name.dropFirst("intermediate-".count)
                moves.append((state.path("crl", "history", name), state.path("crl", "history", String(renamed))))
            }
        }
        for (source, destination) in moves where FileManager.default.fileExists(atPath: source) {
            guard rename(source, destination) == 0 else {
                throw ApplianceError.stateDirectory("cannot move \(source) to \(destination): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Keeps the current file as `history` with a hard link instead of writing its bytes again
    /// (49 MB with 1 000 000 entries): the file is already durable, and the atomic swap that
    /// follows replaces only the directory entry, never these bytes. Only when the file holds
    /// exactly `bytes`; false (so the caller writes a copy) when it does not or cannot link.
    private func linkCurrent(_ name: String, holding bytes: [UInt8], to history: String) throws -> Bool {
        let current = currentPath(name)
        var info = stat()
        guard lstat(current, &info) == 0, info.st_mode & S_IFMT == S_IFREG, Int(info.st_size) == bytes.count,
            Self.file(current, holds: bytes)
        else { return false }
        guard link(current, history) == 0 else { return false }
        let directory = open(state.crlHistoryDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else {
            throw ApplianceError.unavailable("cannot open \(state.crlHistoryDirectory): \(String(cString: strerror(errno)))")
        }
        defer { close(directory) }
        guard fsync(directory) == 0 else {
            throw ApplianceError.unavailable("cannot fsync \(state.crlHistoryDirectory): \(String(cString: strerror(errno)))")
        }
        return true
    }

    /// Whether the file at `path` holds exactly `bytes`, compared in 1 MiB reads (no second copy
    /// of a 49 MB CRL in memory). False on any read error.
    private static func file(_ path: String, holds bytes: [UInt8]) -> Bool {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var offset = 0
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return false }
            if count == 0 { return offset == bytes.count }
            guard offset + count <= bytes.count else { return false }
            let equal = chunk.withUnsafeBytes { read in
                bytes.withUnsafeBytes { expected in
                    guard let a = read.baseAddress, let b = expected.baseAddress else { return false }
                    return memcmp(a, b + offset, count) == 0
                }
            }
            guard equal else { return false }
            offset += count
        }
    }

    private func ensureHistoryDirectory() throws {
        let path = state.crlHistoryDirectory
        if mkdir(path, 0o750) != 0, errno != EEXIST {
            throw ApplianceError.unavailable("cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Gives the current file of `issuer` (and the history copy of `number`) to the owner of the
    /// state directory when they differ (an administrator running as root). No-op otherwise.
    func matchOwnerOfStateDirectory(_ issuer: CRLIssuer, number: CRLNumber?) throws {
        var owner = stat()
        guard stat(state.root.path, &owner) == 0, geteuid() == 0, owner.st_uid != 0 else { return }
        var paths = [currentPath(issuer), state.crlHistoryDirectory]
        if let number { paths.append(historyPath(issuer, number)) }
        for path in paths where FileManager.default.fileExists(atPath: path) {
            guard lchown(path, owner.st_uid, owner.st_gid) == 0 else {
                throw ApplianceError.stateDirectory("cannot give \(path) to uid \(owner.st_uid): \(String(cString: strerror(errno)))")
            }
        }
    }
}
