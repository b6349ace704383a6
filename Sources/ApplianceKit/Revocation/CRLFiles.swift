import Foundation
import PKICore
import SecureFiles

/// The CRL files of the state directory (DESIGN §4): `<state>/crl/<issuer>.crl` (DER, public,
/// 0644) and `<state>/crl/history/<issuer>-<number>.crl` for every version that was replaced.
struct CRLFiles {
    let state: StateDirectory

    func currentPath(_ issuer: CRLIssuer) -> String { state.path("crl", "\(issuer.rawValue).crl") }

    func historyPath(_ issuer: CRLIssuer, _ number: CRLNumber) -> String {
        state.path("crl", "history", "\(issuer.rawValue)-\(number).crl")
    }

    /// The bytes of the current file, nil when absent.
    func current(_ issuer: CRLIssuer) throws -> [UInt8]? {
        let path = currentPath(issuer)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try SecureFile.read(path, maximumSize: 512 << 20)
    }

    /// Keeps `replacing` in history (written first, O_EXCL, fsynced), then swaps the current file
    /// atomically. A failure leaves the old file in place and throws.
    func install(_ der: [UInt8], number: CRLNumber, as issuer: CRLIssuer, replacing previous: ([UInt8], CRLNumber)?) throws {
        if let previous, previous.1 != number {
            let (bytes, previousNumber) = previous
            let history = historyPath(issuer, previousNumber)
            if !FileManager.default.fileExists(atPath: history) {
                try ensureHistoryDirectory()
                try SecureFile.writeExclusive(bytes, to: history, mode: 0o644)
            }
        }
        try SecureFile.replaceAtomically(der, at: currentPath(issuer), mode: 0o644)
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
