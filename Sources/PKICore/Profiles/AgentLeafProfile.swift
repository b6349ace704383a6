import Foundation
import X509

/// Agent client certificate (docs/profiles.md#agent-leaf, `docs/identity.md`): `CN={hostname}, OU=<agents OU>, O=<org>`
/// (no CN for host names over 64 characters, RFC 5280 ub-common-name),
/// CA:FALSE, digitalSignature (+keyEncipherment for RSA), EKU clientAuth, SAN
/// `DNS:{hostname}` + `URI:urn:uuid:{uuid}`, SKI/AKI, CRL DP and AIA. Default 90 days (1–397).
public struct AgentLeafProfile: CertificateProfile {
    public static let defaultValidity = 90 * ValidityPolicy.day
    public static let validityBounds = (1 * ValidityPolicy.day)...(397 * ValidityPolicy.day)

    public let name = "agent"
    public let kind = ProfileKind.leaf
    public let identity: AgentIdentity
    public let subject: DistinguishedName
    public let extendedKeyUsages: [ExtendedKeyUsage.Usage] = [.clientAuth]
    public let pointers: RevocationPointers
    public let validityPolicy: ValidityPolicy

    public init(
        identity: AgentIdentity,
        organization: String,
        agentsUnit: String = "agents",
        pointers: RevocationPointers = .none,
        validity: TimeInterval = AgentLeafProfile.defaultValidity
    ) throws {
        self.identity = identity
        self.subject = try SubjectName.agent(identity, organization: organization, agentsUnit: agentsUnit)
        self.pointers = pointers
        self.validityPolicy = try ValidityPolicy(duration: validity, bounds: Self.validityBounds, minimum: ValidityPolicy.day)
    }

    public func validity(now: Date, issuer: IssuerSummary) throws -> ValidityPeriod {
        try validityPolicy.period(now: now, issuer: issuer)
    }

    public func extensions(subjectKey: Certificate.PublicKey, issuer: IssuerSummary) throws -> Certificate.Extensions {
        var builder = ExtensionBuilder()
        try builder.basicConstraints(isCA: false, pathLength: nil)
        try builder.keyUsage(isCA: false, subjectKey: subjectKey)
        try builder.extendedKeyUsage(extendedKeyUsages)
        try builder.subjectKeyIdentifier(subjectKey)
        try builder.authorityKeyIdentifier(issuer)
        try builder.subjectAlternativeNames(Array(identity.subjectAlternativeNames))
        try builder.revocationPointers(pointers)
        return builder.extensions
    }
}
