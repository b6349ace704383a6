import Foundation
import X509

/// Self-signed root CA (docs/profiles.md#root-ca): CA:TRUE critical without pathLen, keyCertSign + cRLSign,
/// SKI, no AKI, no EKU, no CRL DP/AIA. Default 20 calendar years, 5–30 allowed (``RootValidity``).
public struct RootCAProfile: CertificateProfile {
    public static let defaultValidity = 20 * ValidityPolicy.year
    public static let validityBounds = (5 * ValidityPolicy.year)...(30 * ValidityPolicy.year)

    public let name = "root-ca"
    public let kind = ProfileKind.rootCA
    public let subject: DistinguishedName
    public let extendedKeyUsages: [ExtendedKeyUsage.Usage] = []
    /// The lifetime when given as a duration; nil when ``rootValidity`` gives calendar years or a date.
    public let validityPolicy: ValidityPolicy?
    /// The lifetime in calendar years or until a date (the ceremony's form).
    public let rootValidity: RootValidity?

    /// A root living `validity` seconds (tests and benchmarks; ceremonies count calendar years).
    public init(subject: DistinguishedName, validity: TimeInterval = RootCAProfile.defaultValidity) throws {
        guard !subject.isEmpty else { throw PKIError.invalidParameter("a root CA needs a non-empty subject") }
        self.subject = subject
        self.validityPolicy = try ValidityPolicy(duration: validity, bounds: Self.validityBounds)
        self.rootValidity = nil
    }

    /// A root living `validity` (calendar years or until a date), checked against the bounds for
    /// a root signed at `now` so that a plan asking for too short or too long a life is refused
    /// before any key exists.
    public init(subject: DistinguishedName, validity: RootValidity, now: Date) throws {
        guard !subject.isEmpty else { throw PKIError.invalidParameter("a root CA needs a non-empty subject") }
        try validity.check(signedAt: now)
        self.subject = subject
        self.validityPolicy = nil
        self.rootValidity = validity
    }

    public func validity(now: Date, issuer: IssuerSummary) throws -> ValidityPeriod {
        if let rootValidity {
            try rootValidity.check(signedAt: now)
            // The same five-minute backdate as every profile (clock skew of relying parties).
            let notBefore = Date(timeIntervalSince1970: now.addingTimeInterval(-300).timeIntervalSince1970.rounded(.down))
            return ValidityPeriod(notBefore: notBefore, notAfter: rootValidity.notAfter(signedAt: now))
        }
        guard let validityPolicy else { throw PKIError.invalidParameter("the root profile has no validity") }
        return try validityPolicy.period(now: now, issuer: issuer)
    }

    public func extensions(subjectKey: Certificate.PublicKey, issuer: IssuerSummary) throws -> Certificate.Extensions {
        var builder = ExtensionBuilder()
        try builder.basicConstraints(isCA: true, pathLength: nil)
        try builder.keyUsage(isCA: true, subjectKey: subjectKey)
        try builder.subjectKeyIdentifier(subjectKey)
        return builder.extensions
    }
}
