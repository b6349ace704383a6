import PKICore
import X509

/// The SHA-256 of a stored certificate's SubjectPublicKeyInfo, in the form CSR reviews use
/// (``RequestIdentity/spkiSHA256``), so the RA can tell whether a request carries the key a
/// certificate was issued for.
enum CertificateKeyDigest {
    /// `nil` when the stored DER does not decode: then nothing matches and the request is
    /// refused as it would have been without re-delivery (the refusal is the fail-closed answer).
    static func spkiSHA256Hex(certificateDER der: [UInt8]) -> String? {
        guard let certificate = try? Certificate(derEncoded: der) else { return nil }
        return certificate.publicKey.spkiSHA256Hex
    }
}
