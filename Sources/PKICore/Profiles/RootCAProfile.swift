import Foundation
import X509

/// Self-signed root CA (docs/profiles.md#root-ca): CA:TRUE critical without pathLen, keyCertSign + cRLSign,
/// SKI, no AKI, no EKU, no CRL DP/AIA. Default 20 years, 5–30 allowed.
public struct RootCAProfile: CertificateProfile {
    public static let defaultValidity = 20 * ValidityPolicy.year
    public static let validityBounds = (5 * ValidityPolicy.year)...(30 * ValidityPolicy.year)

    public let name = "root-ca"
    public let kind = ProfileKind.rootCA
    public let subject: DistinguishedName
    public let extendedKeyUsages: [ExtendedKeyUsage.Usage] = []
    public let validityPolicy: ValidityPolicy

    public init(subject: DistinguishedName, validity: TimeInterval = RootCAProfile.defaultValidity) throws {
        guard !subject.isEmpty else { throw PKIError.invalidParameter("a root CA needs a non-empty subject") }
        self.subject = subject
        self.validityPolicy = try ValidityPolicy(duration: validity, bounds: Self.validityBounds)
    }

    public func validity(now: Date, issuer: IssuerSummary) throws -> ValidityPeriod {
        try validityPolicy.period(now: now, issuer: issuer)
    }

    public func extensions(subjectKey: Certificate.PublicKey, issuer: IssuerSummary) throws -> Certificate.Extensions {
        var builder = ExtensionBuilder()
        try builder.basicConstraints(isCA: true, pathLength: nil)
        try builder.keyUsage(isCA: true, subjectKey: subjectKey)
        try builder.subjectKeyIdentifier(subjectKey)
        return builder.extensions
    }
}
