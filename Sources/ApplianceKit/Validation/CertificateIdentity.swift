import Foundation
import X509

/// A byte-exact key for a certificate in the validation caches.
///
/// A cache keyed by the TBS alone would hand a forged signature the verdict of the genuine
/// certificate. Whether `Certificate`'s own `Hashable` covers the signature has varied between
/// swift-certificates releases (older ones compared only `tbsCertificateBytes`), so this key
/// names all three parts explicitly: an equal key means the same signed object (RFC 5280 §4.1.1).
struct CertificateIdentity: Hashable, Sendable {
    /// The hash of the TBS bytes and the algorithm, computed once when the key is made: a key is
    /// looked up in several caches per request, and hashing ~500 TBS bytes for each lookup was
    /// the largest item of a kept-alive request under callgrind (BENCHMARKS.md, issue #17). Equal
    /// identities have equal digests; it is compared first only as a cheap mismatch.
    private let digest: Int
    let tbs: ArraySlice<UInt8>
    let algorithm: Certificate.SignatureAlgorithm
    let signature: Certificate.Signature

    init(_ certificate: Certificate) {
        self.tbs = certificate.tbsCertificateBytes
        self.algorithm = certificate.signatureAlgorithm
        self.signature = certificate.signature
        var hasher = Hasher()
        tbs.withUnsafeBytes { hasher.combine(bytes: $0) }
        hasher.combine(algorithm)
        self.digest = hasher.finalize()
    }

    /// The signature is left out of the digest only: equality covers all three parts, so a forged
    /// signature never matches the genuine certificate, and only certificates that passed the
    /// full check are ever cached under this key.
    func hash(into hasher: inout Hasher) {
        hasher.combine(digest)
    }

    /// All three parts, the TBS bytes with one `memcmp`: the synthesised `==` compared the
    /// `ArraySlice` element by element, ~9 500 instructions per cache hit (BENCHMARKS.md, issue #17).
    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.digest == rhs.digest && lhs.tbs.hasSameBytes(as: rhs.tbs) && lhs.algorithm == rhs.algorithm && lhs.signature == rhs.signature
    }
}
