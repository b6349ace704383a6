import Foundation
import PKICore
import X509

/// A profile that wraps a real one and breaks one thing, so tests can prove issuance stops at the
/// lint step and names the rule.
struct TamperedProfile<Base: CertificateProfile>: CertificateProfile {
    var base: Base
    var name: String { base.name }
    var kind: ProfileKind { base.kind }
    var subjectOverride: DistinguishedName?
    var subject: DistinguishedName { subjectOverride ?? base.subject }
    var extendedKeyUsages: [ExtendedKeyUsage.Usage] { base.extendedKeyUsages }
    var pathLengthConstraint: Int? { base.pathLengthConstraint }
    var validityOverride: (@Sendable (Date, IssuerSummary) -> ValidityPeriod)?
    var editExtensions: @Sendable (inout Certificate.Extensions) throws -> Void = { _ in }

    init(_ base: Base) { self.base = base }

    func validity(now: Date, issuer: IssuerSummary) throws -> ValidityPeriod {
        if let validityOverride { return validityOverride(now, issuer) }
        return try base.validity(now: now, issuer: issuer)
    }

    func extensions(subjectKey: Certificate.PublicKey, issuer: IssuerSummary) throws -> Certificate.Extensions {
        var extensions = try base.extensions(subjectKey: subjectKey, issuer: issuer)
        try editExtensions(&extensions)
        return extensions
    }
}
