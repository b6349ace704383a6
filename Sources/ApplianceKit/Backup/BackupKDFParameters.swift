import Crypto
import Foundation
import PKICore
import _CryptoExtras

/// scrypt (RFC 7914) cost for the archive key: memory-hard, so guessing a backup passphrase on
/// GPUs costs memory as well as time. The same swift-crypto scrypt that protects the encrypted
/// PKCS#8 intermediate key (`EncryptedPrivateKey`).
///
/// Writing uses N = 2^17, r = 8, p = 1 (128 MiB, a fraction of a second): a backup is written
/// rarely and its passphrase protects the CA's whole state. Reading refuses anything outside
/// log2(N) 14–20, r 1–16, p 1–4 or above 512 MiB of scrypt memory (128·N·r), so a crafted header
/// cannot exhaust the restoring machine.
public struct BackupKDFParameters: Sendable, Hashable {
    public let logN: Int
    public let r: Int
    public let p: Int

    /// The cost written by `backup create`.
    public static let standard = BackupKDFParameters(unchecked: 17, 8, 1)
    /// The cheapest cost a reader accepts (openssl's scrypt default, 16 MiB); for tests that
    /// derive many keys.
    public static let minimum = BackupKDFParameters(unchecked: 14, 8, 1)

    static let logNRange = 14...20
    static let rRange = 1...16
    static let pRange = 1...4
    static let maximumMemory = 512 << 20

    private init(unchecked logN: Int, _ r: Int, _ p: Int) {
        self.logN = logN
        self.r = r
        self.p = p
    }

    /// Bounds-checked parameters; the error names the offending value and the accepted range.
    public static func validated(logN: Int, r: Int, p: Int) throws -> BackupKDFParameters {
        guard logNRange.contains(logN) else {
            throw ApplianceError.backupRejected(
                "scrypt log2(N) = \(logN) is outside \(logNRange.lowerBound)–\(logNRange.upperBound); refusing the archive's KDF parameters")
        }
        guard rRange.contains(r) else {
            throw ApplianceError.backupRejected(
                "scrypt r = \(r) is outside \(rRange.lowerBound)–\(rRange.upperBound); refusing the archive's KDF parameters")
        }
        guard pRange.contains(p) else {
            throw ApplianceError.backupRejected(
                "scrypt p = \(p) is outside \(pRange.lowerBound)–\(pRange.upperBound); refusing the archive's KDF parameters")
        }
        let memory = 128 * r << logN
        guard memory <= maximumMemory else {
            throw ApplianceError.backupRejected(
                "scrypt would need \(memory >> 20) MiB (more than \(maximumMemory >> 20) MiB); refusing the archive's KDF parameters")
        }
        return BackupKDFParameters(unchecked: logN, r, p)
    }

    /// Derives the 256-bit AEAD key from the passphrase and the header's salt.
    func deriveKey(passphrase: SecretBytes, salt: [UInt8]) throws -> SymmetricKey {
        do {
            return try passphrase.withUnsafeBytes { secret in
                try KDF.Scrypt.deriveKey(from: secret, salt: salt, outputByteCount: 32, rounds: 1 << logN, blockSize: r, parallelism: p)
            }
        } catch {
            // The error text of the KDF cannot contain the passphrase, but say only what failed.
            throw ApplianceError.unavailable("scrypt key derivation failed (log2 N \(logN), r \(r), p \(p))")
        }
    }
}
