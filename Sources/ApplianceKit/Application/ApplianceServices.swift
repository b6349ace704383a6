import Logging
import PKICore
import ServiceLifecycle
import X509

/// The implementations the network layer calls; the lead wires the real ones (PKICore issuance,
/// Registration, CAStore, CRL/OCSP) and tests pass fakes.
public struct ApplianceServices: Sendable {
    public var certificateAuthority: any CertificateAuthorityService
    public var clientAuthenticator: any ClientAuthenticator
    public var revocation: any RevocationChecking
    public var revocationPublisher: any RevocationPublisher
    public var ocsp: any OCSPResponding
    public var administration: any AdministrationService
    /// Pinned root + current intermediates for the handshake check.
    public var trust: ClientTrust
    /// The HTTPS server certificate (rotatable without restart).
    public var serverCertificate: ServerCertificateHolder
    /// Extra background work (CRL publisher, rotation, …) run in the same service group.
    public var backgroundServices: [any ServiceLifecycleService]
    /// Open mTLS connections by client-certificate serial, closed when that certificate is revoked.
    public var connections: ConnectionRegistry
    /// What `/health` reports: degraded (503, with the reason) while a publisher cannot publish.
    public var health: @Sendable () async -> PublisherHealth
    /// What the web console reads and acts through; nil: no console (tests with fakes).
    public var console: ConsoleBackend?
    /// Answers kept-alive `GET /api/v1/agent/status` polls from memory with every check made
    /// (docs/performance.md#agent-status-fast-path); nil: every request takes the router (fakes).
    public var agentStatusFastPath: AgentStatusFastPath?

    public init(
        certificateAuthority: any CertificateAuthorityService,
        clientAuthenticator: any ClientAuthenticator,
        revocation: any RevocationChecking,
        revocationPublisher: any RevocationPublisher,
        ocsp: any OCSPResponding,
        administration: any AdministrationService,
        trust: ClientTrust,
        serverCertificate: ServerCertificateHolder,
        backgroundServices: [any ServiceLifecycleService] = [],
        connections: ConnectionRegistry = ConnectionRegistry(),
        health: @escaping @Sendable () async -> PublisherHealth = { .healthy },
        console: ConsoleBackend? = nil
    ) {
        self.console = console
        self.connections = connections
        self.health = health
        self.certificateAuthority = certificateAuthority
        self.clientAuthenticator = clientAuthenticator
        self.revocation = revocation
        self.revocationPublisher = revocationPublisher
        self.ocsp = ocsp
        self.administration = administration
        self.trust = trust
        self.serverCertificate = serverCertificate
        self.backgroundServices = backgroundServices
    }
}

/// `ServiceLifecycle.Service`, re-exported under an unambiguous name for this module's API.
public typealias ServiceLifecycleService = ServiceLifecycle.Service
