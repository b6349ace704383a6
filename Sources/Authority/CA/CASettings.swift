import Foundation
import PKICore

/// What the online CA puts into the certificates it issues (docs/profiles.md, docs/configuration.md). A plain value; the
/// appliance configuration maps its `ca:` keys onto it.
public struct CASettings: Sendable, Equatable {
    /// `O=` of every subject the intermediate issues.
    public var organization: String
    /// `OU=` of agent certificates.
    public var agentsUnit: String
    /// Agent certificate lifetime (AgentLeafProfile bounds: 1–397 days).
    public var agentValidity: TimeInterval
    /// CRL distribution point put into issued leaves (RFC 5280 §4.2.1.13).
    public var crlURL: String?
    /// OCSP responder URL for the AIA extension (RFC 5280 §4.2.2.1).
    public var ocspURL: String?
    /// caIssuers URL for the AIA extension (where the intermediate can be fetched).
    public var caIssuersURL: String?
    /// Retry-After sent with a pending enrolment (RFC 7030 §4.2.3).
    public var retryAfterSeconds: Int

    public init(
        organization: String, agentsUnit: String = "agents", agentValidity: TimeInterval = AgentLeafProfile.defaultValidity,
        crlURL: String? = nil, ocspURL: String? = nil, caIssuersURL: String? = nil, retryAfterSeconds: Int = 60
    ) {
        self.organization = organization
        self.agentsUnit = agentsUnit
        self.agentValidity = agentValidity
        self.crlURL = crlURL
        self.ocspURL = ocspURL
        self.caIssuersURL = caIssuersURL
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The pointers as a validated ``RevocationPointers`` (http(s) only).
    public func pointers() throws -> RevocationPointers {
        try RevocationPointers(crlURL: crlURL, ocspURL: ocspURL, caIssuersURL: caIssuersURL)
    }
}
