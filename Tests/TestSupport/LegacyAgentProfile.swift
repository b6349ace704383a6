import Foundation
import PKICore
import X509

/// The agent profile of the earlier subject scheme, `CN=agent-{hostname}-{uuid}, OU=agents, O=<org>`
/// with the same SANs — what an existing fleet's certificates look like (docs/identity.md). Only
/// for host names short enough that the CN fits 64 characters: the linter refuses the rest, as
/// it must.
public struct LegacyAgentProfile: CertificateProfile {
    let current: AgentLeafProfile
    public let subject: DistinguishedName
    public var name: String { current.name }
    public var kind: ProfileKind { current.kind }
    public var extendedKeyUsages: [ExtendedKeyUsage.Usage] { current.extendedKeyUsages }

    public init(identity: AgentIdentity, organization: String, pointers: RevocationPointers = .none) throws {
        current = try AgentLeafProfile(identity: identity, organization: organization, pointers: pointers)
        subject = try DistinguishedName {
            OrganizationName(organization)
            OrganizationalUnitName("agents")
            CommonName(identity.legacyCommonName)
        }
    }

    public func validity(now: Date, issuer: IssuerSummary) throws -> ValidityPeriod { try current.validity(now: now, issuer: issuer) }

    public func extensions(subjectKey: Certificate.PublicKey, issuer: IssuerSummary) throws -> Certificate.Extensions {
        try current.extensions(subjectKey: subjectKey, issuer: issuer)
    }
}

extension TestPKI {
    /// An agent certificate of the earlier scheme, signed by the intermediate.
    public func issueLegacyAgent(hostname: String, uuid: String, key: Certificate.PrivateKey) async throws -> Certificate {
        let profile = try LegacyAgentProfile(identity: AgentIdentity(hostname: hostname, uuid: uuid), organization: organization)
        return try await intermediateIssuer.issue(intermediateIssuer.prepare(profile: profile, subjectPublicKey: key.publicKey))
    }
}
