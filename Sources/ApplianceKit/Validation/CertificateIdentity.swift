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
}
