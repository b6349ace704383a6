import Foundation
import X509
import _CryptoExtras

/// One throwaway private key per algorithm per process, used to sign the lint copy of a
/// certificate (docs/profiles.md#lint-before-signing: "sign a copy with a throwaway key of the same algorithm"). Cached
/// because RSA-4096 generation takes seconds; the keys never sign anything that leaves the process.
///
/// For RSA issuers of any size the throwaway is one 1024-bit RSA key: the lint copy only needs
/// the same *signature algorithm* (sha256WithRSAEncryption), because the TBS — which is what the
/// linter reads and what must match byte for byte — does not depend on the signer's key size.
/// A small key makes the throwaway signature cheap (the real RSA signature dominates issuance);
/// the throwaway signature is discarded and never verifies under any published key.
enum ThrowawayKeys {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var keys: [KeyAlgorithm: Certificate.PrivateKey] = [:]

    /// The cached key for `algorithm`, generated on first use.
    static func key(for issuerAlgorithm: KeyAlgorithm) throws -> Certificate.PrivateKey {
        // All RSA sizes share one throwaway (see above).
        let algorithm: KeyAlgorithm = issuerAlgorithm.isRSA ? .rsa2048 : issuerAlgorithm
        if let key = lock.withLock({ keys[algorithm] }) { return key }
        // Generate outside the lock so a slow generation does not block other algorithms;
        // a race only wastes one generation.
        let key =
            algorithm.isRSA
            ? Certificate.PrivateKey(try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024)))
            : try algorithm.generatePrivateKey()
        return lock.withLock {
            if let existing = keys[algorithm] { return existing }
            keys[algorithm] = key
            return key
        }
    }
}
