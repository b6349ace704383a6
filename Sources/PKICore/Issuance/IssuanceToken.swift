import Foundation
import X509

/// A certificate that has been built with a placeholder signature value and linted, but not yet signed
/// for real (docs/conventions.md#checked-is-a-type). It is `~Copyable`, so the only road to a signature is to *consume* it in
/// ``CertificateIssuer/issue(_:)`` exactly once.
///
/// Callers persist intent between ``CertificateIssuer/prepare(profile:subjectPublicKey:)`` and
/// `issue` using ``serialNumber`` and ``tbsCertificateBytes`` (docs/conventions.md#signing-path).
public struct IssuanceToken: ~Copyable, Sendable {
    /// The serial number the certificate will carry.
    public let serialNumber: Certificate.SerialNumber
    /// The DER TBSCertificate that was linted; the real signature covers exactly these bytes.
    public let tbsCertificateBytes: [UInt8]
    /// The linted certificate, carrying a placeholder signature value (never valid, never published).
    public let lintedCertificate: Certificate
    /// The profile name, for audit records.
    public let profileName: String
    /// SHA-256 of the issuer public key (SPKI) that must sign this token.
    let issuerSPKISHA256: [UInt8]

    init(lintedCertificate: Certificate, profileName: String, issuerSPKISHA256: [UInt8]) {
        self.serialNumber = lintedCertificate.serialNumber
        self.tbsCertificateBytes = Array(lintedCertificate.tbsCertificateBytes)
        self.lintedCertificate = lintedCertificate
        self.profileName = profileName
        self.issuerSPKISHA256 = issuerSPKISHA256
    }

    /// The subject of the certificate to be issued.
    public var subject: DistinguishedName { lintedCertificate.subject }
    /// The validity the certificate will have (after clamping to the issuer).
    public var notValidBefore: Date { lintedCertificate.notValidBefore }
    public var notValidAfter: Date { lintedCertificate.notValidAfter }
}
