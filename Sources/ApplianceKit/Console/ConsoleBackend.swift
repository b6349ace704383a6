import Foundation
import PKICore
import Registration

/// What the console reads and acts through (docs/console.md): the online CA — whose
/// administration commands go through the registration authority's unit of work and its event
/// stream, exactly as the admin socket's do — plus the running appliance's state for the overview.
public struct ConsoleBackend: Sendable {
    /// One issuer on the overview: its certificate and its last CRL.
    public struct IssuerState: Sendable {
        public var subject: String
        public var ski: String
        public var current: Bool
        public var lastCRL: CRLPublication?
        public init(subject: String, ski: String, current: Bool, lastCRL: CRLPublication?) {
            self.subject = subject
            self.ski = ski
            self.current = current
            self.lastCRL = lastCRL
        }
    }

    public let ca: IntermediateCA
    public let metrics: ApplianceMetrics
    public let issuers: @Sendable () async throws -> [IssuerState]
    public let health: @Sendable () async -> PublisherHealth
    /// The signing key's token: "up", "away", or "software key" when there is no token.
    public let signingKey: @Sendable () -> String

    public init(
        ca: IntermediateCA, metrics: ApplianceMetrics, issuers: @escaping @Sendable () async throws -> [IssuerState],
        health: @escaping @Sendable () async -> PublisherHealth, signingKey: @escaping @Sendable () -> String
    ) {
        self.ca = ca
        self.metrics = metrics
        self.issuers = issuers
        self.health = health
        self.signingKey = signingKey
    }
}
