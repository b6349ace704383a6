import X509

/// A byte-exact key for a certificate in the validation caches.
///
/// A cache keyed by the TBS alone would hand a forged signature the verdict of the genuine
/// certificate. Whether `Certificate`'s own `Hashable` covers the signature has varied between
/// swift-certificates releases (older ones compared only `tbsCertificateBytes`), so this key
/// names all three parts explicitly: an equal key means the same signed object (RFC 5280 §4.1.1).
struct CertificateIdentity: Hashable, Sendable {
    let tbs: ArraySlice<UInt8>
    let algorithm: Certificate.SignatureAlgorithm
    let signature: Certificate.Signature

    init(_ certificate: Certificate) {
        self.tbs = certificate.tbsCertificateBytes
        self.algorithm = certificate.signatureAlgorithm
        self.signature = certificate.signature
    }

    /// The TBS bytes in one `combine(bytes:)` call: the synthesised hash fed `Hasher` one byte at
    /// a time (`Hasher._combine` was 6.9 % of a kept-alive request's instructions under callgrind,
    /// BENCHMARKS.md issue #17 analysis). The signature is left out of the hash only: equality
    /// (synthesised, all three parts) still tells a forged signature from the genuine one, and
    /// only certificates that passed the full check are ever cached under this key.
    func hash(into hasher: inout Hasher) {
        tbs.withUnsafeBytes { hasher.combine(bytes: $0) }
        hasher.combine(algorithm)
    }
}
