import Foundation
import SwiftASN1
import X509

/// Delegated OCSP responder certificate (RFC 6960 §4.2.2.2): CA:FALSE, keyUsage digitalSignature,
/// EKU OCSPSigning, and id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1) with a NULL value so clients do
/// not try to check the responder's own revocation. Because nocheck makes it unrevocable the
/// lifetime is short: default 7 days, at most 30. A SAN naming the responder keeps the leaf rule.
public struct OCSPSignerProfile: CertificateProfile {
    /// id-pkix-ocsp-nocheck.
    public static let noCheckOID: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 48, 1, 5]
    public static let defaultValidity = 7 * ValidityPolicy.day
    public static let validityBounds = (1 * ValidityPolicy.day)...(30 * ValidityPolicy.day)

    public let name = "ocsp-signer"
    public let kind = ProfileKind.leaf
    public let subject: DistinguishedName
    public let extendedKeyUsages: [ExtendedKeyUsage.Usage] = [.ocspSigning]
    public let responderName: String
    public let validityPolicy: ValidityPolicy

    public init(name: String, organization: String, validity: TimeInterval = OCSPSignerProfile.defaultValidity) throws {
        guard NameSyntax.isValidHostname(name) else {
            throw PKIError.invalidParameter("OCSP signer name '\(name)' must be a host name (it becomes the SAN)")
        }
        self.subject = try SubjectName.ocspSigner(name: name, organization: organization)
        self.responderName = name
        self.validityPolicy = try ValidityPolicy(duration: validity, bounds: Self.validityBounds, minimum: 3600)
    }

    public func validity(now: Date, issuer: IssuerSummary) throws -> ValidityPeriod {
        try validityPolicy.period(now: now, issuer: issuer)
    }

    public func extensions(subjectKey: Certificate.PublicKey, issuer: IssuerSummary) throws -> Certificate.Extensions {
        var builder = ExtensionBuilder()
        try builder.basicConstraints(isCA: false, pathLength: nil)
        // digitalSignature only, for RSA too: an OCSP signer never does key transport.
        try builder.append(Certificate.Extension(KeyUsage(digitalSignature: true), critical: true))
        try builder.extendedKeyUsage(extendedKeyUsages)
        try builder.subjectKeyIdentifier(subjectKey)
        try builder.authorityKeyIdentifier(issuer)
        try builder.append(Certificate.Extension(oid: Self.noCheckOID, critical: false, value: [0x05, 0x00]))
        try builder.subjectAlternativeNames([.dnsName(responderName)])
        return builder.extensions
    }
}
