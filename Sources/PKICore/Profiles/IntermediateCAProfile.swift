import Foundation
import X509

/// Intermediate CA signed by the root (docs/profiles.md#intermediate-ca): CA:TRUE critical with pathLen 0, keyCertSign +
/// cRLSign (+ digitalSignature when it signs OCSP responses itself), optional EKU, SKI, AKI, and
/// the root's CRL URL. Default and maximum 5 years (docs/profiles.md#intermediate-ca), clamped to the root's notAfter.
public struct IntermediateCAProfile: CertificateProfile {
    public static let defaultValidity = 5 * ValidityPolicy.year
    public static let validityBounds = (1 * ValidityPolicy.year)...(5 * ValidityPolicy.year)

    public let name = "intermediate-ca"
    public let kind = ProfileKind.intermediateCA
    public let subject: DistinguishedName
    public let extendedKeyUsages: [ExtendedKeyUsage.Usage]
    public let pathLengthConstraint: Int? = 0
    public let signsOCSPDirectly: Bool
    public let pointers: RevocationPointers
    public let validityPolicy: ValidityPolicy

    /// - Parameters:
    ///   - extendedKeyUsages: optional EKU restriction (clientAuth, serverAuth, OCSPSigning only).
    ///   - signsOCSPDirectly: adds digitalSignature so the CA key can sign OCSP responses (RFC 6960 §4.2.2.2).
    ///   - pointers: the *root's* CRL URL (OCSP is not offered for the offline root).
    public init(
        subject: DistinguishedName,
        extendedKeyUsages: [ExtendedKeyUsage.Usage] = [],
        signsOCSPDirectly: Bool = false,
        pointers: RevocationPointers = .none,
        validity: TimeInterval = IntermediateCAProfile.defaultValidity
    ) throws {
        guard !subject.isEmpty else { throw PKIError.invalidParameter("an intermediate CA needs a non-empty subject") }
        let allowed: [ExtendedKeyUsage.Usage] = [.clientAuth, .serverAuth, .ocspSigning]
        for usage in extendedKeyUsages where !allowed.contains(usage) {
            throw PKIError.invalidParameter("intermediate EKU \(usage) is not one of clientAuth, serverAuth, OCSPSigning")
        }
        self.subject = subject
        self.extendedKeyUsages = extendedKeyUsages
        self.signsOCSPDirectly = signsOCSPDirectly
        self.pointers = pointers
        self.validityPolicy = try ValidityPolicy(duration: validity, bounds: Self.validityBounds, minimum: 30 * ValidityPolicy.day)
    }

    public func validity(now: Date, issuer: IssuerSummary) throws -> ValidityPeriod {
        try validityPolicy.period(now: now, issuer: issuer)
    }

    public func extensions(subjectKey: Certificate.PublicKey, issuer: IssuerSummary) throws -> Certificate.Extensions {
        var builder = ExtensionBuilder()
        try builder.basicConstraints(isCA: true, pathLength: 0)
        try builder.keyUsage(isCA: true, subjectKey: subjectKey, digitalSignatureForCA: signsOCSPDirectly)
        try builder.extendedKeyUsage(extendedKeyUsages)
        try builder.subjectKeyIdentifier(subjectKey)
        try builder.authorityKeyIdentifier(issuer)
        try builder.revocationPointers(pointers, includeOCSP: false)
        return builder.extensions
    }
}
