import CAStore
import Foundation
import Logging
import PKICore
import Registration
import X509

/// Composes the running appliance from its state directory, configuration and unlocked key
/// (STYLE §3: one place wires the parts; background work runs as services).
///
/// Order matters: the key and certificates are checked first (fail closed before anything
/// listens), the revocation services before the CA that notifies them, the server certificate
/// before the TLS listener that presents it.
public struct ApplianceRuntime: Sendable {
    public let application: ApplianceApplication
    public let ca: IntermediateCA
    public let crlPublisher: CRLPublisher
    public let ocsp: OCSPResponder
    public let coordinator: RevocationCoordinator

    /// Builds everything `serve` runs. `secret` is the intermediate key's passphrase (file key,
    /// used once and not kept) or the token PIN (PKCS#11 key, kept by the key's connection for
    /// re-login when the token comes back after a removal).
    public static func build(
        configuration: ApplianceConfiguration, secret: SecretBytes, clock: any PKIClock = SystemClock(),
        random: any RandomSource = SystemRandomSource(), logger: Logger
    ) async throws -> ApplianceRuntime {
        let state = StateDirectory(path: configuration.stateDirectory)
        try state.checkPermissions()
        let certificates = try IntermediateKeyLoader.loadCertificates(state)
        let metrics = ApplianceMetrics()
        let key: Certificate.PrivateKey
        var tokenMonitor: SigningTokenMonitor?
        if configuration.pkcs11.token.isEmpty {
            key = try IntermediateKeyLoader.loadFileKey(at: state.intermediateKey, passphrase: secret)
        } else {
            let connection = try IntermediateKeyLoader.loadPKCS11Connection(
                PKCS11KeyLocation(modulePath: configuration.pkcs11.module, token: configuration.pkcs11.token), pin: secret,
                certificate: certificates.intermediate)
            key = Certificate.PrivateKey(try connection.privateKey)
            tokenMonitor = SigningTokenMonitor(connection: connection, metrics: metrics, logger: logger)
        }
        let store = try SQLiteStore(path: state.path("db", "rootkeeper.sqlite"))

        let crlPublisher = try CRLPublisher(
            issuerCertificate: certificates.intermediate, privateKey: key, rootCertificate: certificates.root, store: store,
            stateDirectory: state,
            configuration: .init(validity: TimeInterval(configuration.ca.crlNextUpdateHours) * 3600),
            clock: clock, metrics: metrics, logger: logger)
        let ocsp = try OCSPResponder(
            issuerCertificate: certificates.intermediate, privateKey: key, organization: configuration.ca.organization,
            responderName: configuration.server.fqdn, store: store, configuration: .init(), clock: clock, random: random,
            metrics: metrics, logger: logger)
        try await ocsp.prepare()
        let coordinator = RevocationCoordinator(ocsp: ocsp, crlPublisher: crlPublisher)

        let base = configuration.publicBaseURL
        let settings = CASettings(
            organization: configuration.ca.organization, agentsUnit: configuration.ca.agentsUnit,
            agentValidity: TimeInterval(configuration.ca.agentValidityDays) * 86_400,
            crlURL: base + "/crl/intermediate.crl", ocspURL: base + "/ocsp", caIssuersURL: base + "/ca/chain.pem",
            retryAfterSeconds: configuration.enrollment.retryAfterSeconds)
        let supersededAfter = configuration.ca.revokeSupersededAfterHours
        var ca = try IntermediateCA.load(
            state: state, privateKey: key, store: store, settings: settings,
            policy: RegistrationPolicy(
                renewBefore: TimeInterval(configuration.ca.renewBeforeDays) * 86_400,
                revokeSupersededAfter: supersededAfter > 0 ? TimeInterval(supersededAfter) * 3600 : nil),
            clock: clock, random: random,
            crlTrigger: {
                try await crlPublisher.publishNow()
                return "intermediate CRL \(await crlPublisher.servedCRLNumber(.intermediate).map { "\($0)" } ?? "?") published"
            },
            metrics: metrics)
        ca.revocationListener = { serials in await coordinator.revocationOccurred(serials: serials) }

        let trust = ClientTrust(root: certificates.root, intermediates: [certificates.intermediate] + certificates.previous, clock: clock)
        let manager = ServerCertificateManager(
            state: state, ca: ca,
            identity: .init(
                fqdn: configuration.server.fqdn, dnsNames: configuration.server.dnsNameList,
                ipAddresses: configuration.server.ipAddressBytes))
        _ = try await manager.rotateIfDue()
        let material = try manager.tlsMaterial()
        let holder = try ServerCertificateHolder(chainPEM: material.chainPEM, keyPEM: material.keyPEM, trust: trust)
        manager.attach(holder)

        let connections = ConnectionRegistry()
        let services = ApplianceServices(
            certificateAuthority: ca,
            clientAuthenticator: StandardClientAuthenticator(trust: trust, revocation: ca, registry: ca, clock: clock),
            revocation: ca, revocationPublisher: crlPublisher, ocsp: ocsp, administration: ca, trust: trust,
            serverCertificate: holder,
            backgroundServices: [
                crlPublisher, ServerCertificateRotationService(manager: manager, logger: logger),
                SupersededRevocationService(ca: ca, logger: logger),
                RevokedConnectionCloser(coordinator: coordinator, connections: connections, logger: logger),
                AuditJournal(store: store, path: state.path("audit", "audit.jsonl"), logger: logger),
                InventoryGauges(store: store, metrics: metrics, clock: clock, logger: logger),
            ] + (tokenMonitor.map { [$0 as any ServiceLifecycleService] } ?? []),
            connections: connections,
            health: { [tokenMonitor] in
                // A missing signing key outranks a CRL problem: nothing can be signed at all.
                if let token = tokenMonitor?.health, !token.isHealthy { return token }
                return await crlPublisher.health
            })
        let application = try buildApplication(configuration: configuration, services: services, metrics: metrics, logger: logger)
        return ApplianceRuntime(application: application, ca: ca, crlPublisher: crlPublisher, ocsp: ocsp, coordinator: coordinator)
    }
}

extension ApplianceConfiguration {
    /// `ca.public_url`, or `http://<server.fqdn>:<http.port>`.
    public var publicBaseURL: String {
        let configured = ca.publicURL.trimmingCharacters(in: CharacterSet(charactersIn: "/ "))
        return configured.isEmpty ? "http://\(server.fqdn):\(http.port)" : configured
    }
}

extension ApplianceConfiguration.Server {
    /// The fqdn followed by the extra DNS names.
    var dnsNameList: [String] {
        [fqdn] + dnsNames.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The IP addresses as network-order bytes (IPv4 or IPv6); invalid entries are refused by validation.
    var ipAddressBytes: [[UInt8]] {
        ipAddresses.split(separator: ",").compactMap { IPAddressText.bytes(String($0).trimmingCharacters(in: .whitespaces)) }
    }
}

/// Parses textual IP addresses with inet_pton.
enum IPAddressText {
    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
