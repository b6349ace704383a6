import Foundation
import X509

/// One throwaway private key per algorithm per process, used to sign the lint copy of a
/// certificate (DESIGN §2: "sign a copy with a throwaway key of the same algorithm"). Cached
/// because RSA-4096 generation takes seconds; the keys never sign anything that leaves the process.
enum ThrowawayKeys {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var keys: [KeyAlgorithm: Certificate.PrivateKey] = [:]

    /// The cached key for `algorithm`, generated on first use.
    static func key(for algorithm: KeyAlgorithm) throws -> Certificate.PrivateKey {
        if let key = lock.withLock({ keys[algorithm] }) { return key }
        // Generate outside the lock so a slow RSA-4096 generation does not block other algorithms;
        // a race only wastes one generation.
        let key = try algorithm.generatePrivateKey()
        return lock.withLock {
            if let existing = keys[algorithm] { return existing }
            keys[algorithm] = key
            return key
        }
    }
}
