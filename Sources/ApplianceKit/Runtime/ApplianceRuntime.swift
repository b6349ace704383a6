import CAStore
import Foundation
import Logging
import PKICore
import Registration
import SecureFiles
import X509

/// Composes the running appliance from its state directory, configuration and unlocked key
/// (docs/conventions.md#composition-root: one place wires the parts; background work runs as services).
///
/// Built in order, and nothing is changed after it is built: the key and certificates are
/// checked first (fail closed before anything listens), the revocation services and metrics
/// before the RA's event stream that tells them, the stream before the RA and CA, the server
/// certificate before the TLS listener that presents it.
public struct ApplianceRuntime: Sendable {
    public let application: ApplianceApplication
    public let ca: IntermediateCA
    /// The current issuer's CRL publisher (also serving the root CRL).
    public let crlPublisher: CRLPublisher
    /// The current issuer's OCSP responder.
    public let ocsp: OCSPResponder
    /// Every active issuer's CRL publisher and OCSP responder (current and retiring).
    public let crlPublishers: IssuerCRLPublishers
    public let ocspResponders: IssuerOCSPResponders
    /// Retires intermediates whose last certificate has expired.
    public let retirement: IssuerRetirement
    public let coordinator: RevocationCoordinator

    /// Builds everything `serve` runs. `secret` is the intermediate key's passphrase (file key,
    /// used once and not kept) or the token PIN (PKCS#11 key, kept by the key's connection for
    /// re-login when the token comes back after a removal).
    public static func build(
        configuration: ApplianceConfiguration, secret: SecretBytes, clock: any PKIClock = SystemClock(),
        random: any RandomSource = SystemRandomSource(), logger: Logger
    ) async throws -> ApplianceRuntime {
        // 1. What is on disk, checked before anything else (fail closed before anything listens).
        let state = StateDirectory(path: configuration.stateDirectory)
        try state.checkPermissions()
        try state.ensureAuditDirectory(logger: logger)
        let certificates = try IntermediateKeyLoader.loadCertificates(state)
        let metrics = ApplianceMetrics(clock: clock)
        let store = try await ApplianceStoreOpener.open(configuration, state: state, logger: logger)

        // 2. Start-up repairs, before anything serves. Retire what is due (docs/lifecycle.md#intermediate-renewal:
        // renewal with overlap); no running part exists yet to be told.
        let roster = IssuerRoster(current: certificates.intermediate, retiring: certificates.previous)
        try await IssuerRetirement(
            state: state, roster: roster, root: certificates.root, store: store, clock: clock, logger: logger
        ).retireDue()
        // Reservations an earlier process left unfinished (killed between reserve and record) are
        // resolved: their serials revoked before the first CRL is built (the revocation services
        // built below read the store), their tokens and approved registrations usable again
        // (docs/reservations.md). Only metrics exist yet to hear of it.
        try await ReservationReaperService.reap(
            RegistrationAuthority(store: store, clock: clock, random: random, events: AuthorityEventStream([metrics])),
            before: clock.now(), logger: logger)

        // 3. Keys of the current and the remaining retiring issuers.
        let token =
            configuration.pkcs11.token.isEmpty
            ? nil : PKCS11KeyLocation(modulePath: configuration.pkcs11.module, token: configuration.pkcs11.token)
        let keys = try IntermediateKeyLoader.loadIssuerKeys(
            state, current: certificates.intermediate, retiring: roster.retiring, secret: secret, token: token)
        let key = keys.current
        let issuers = Array(zip(roster.retiring, keys.retiring))

        // 4. The revocation services: CRL publishers and OCSP responders per issuer, the mTLS
        // client-status cache and the connection registry — everything a revocation must reach.
        let crlConfiguration = try CRLPublisher.Configuration(validity: TimeInterval(configuration.ca.crlNextUpdateHours) * 3600)
        // Several nodes on one database: one publisher per issuer (docs/architecture.md#crl-leadership).
        let leadership: (any CRLLeadership)? = configuration.store.kind == .postgresql ? store : nil
        let crlPublishers = IssuerCRLPublishers(
            current: try CRLPublisher(
                issuerCertificate: certificates.intermediate, privateKey: key, rootCertificate: certificates.root, store: store,
                expiry: store, stateDirectory: state, configuration: crlConfiguration, clock: clock, metrics: metrics, logger: logger,
                leadership: leadership),
            retiring: try issuers.map { certificate, key in
                try CRLPublisher(
                    issuerCertificate: certificate, privateKey: key, rootCertificate: nil, store: store, expiry: store, stateDirectory: state,
                    configuration: crlConfiguration, clock: clock, metrics: metrics, logger: logger, role: .retiring,
                    leadership: leadership)
            })
        func responder(_ certificate: Certificate, _ key: Certificate.PrivateKey) throws -> OCSPResponder {
            try OCSPResponder(
                issuerCertificate: certificate, privateKey: key, organization: configuration.ca.organization,
                responderName: configuration.server.fqdn, store: store, configuration: .init(), clock: clock, random: random,
                metrics: metrics, logger: logger)
        }
        let responders = IssuerOCSPResponders(
            current: try responder(certificates.intermediate, key), retiring: try issuers.map { try responder($0.0, $0.1) })
        let tokenMonitor = keys.tokenConnection.map {
            SigningTokenMonitor(connection: $0, crlPublishers: crlPublishers, metrics: metrics, logger: logger)
        }
        let trust = ClientTrust(root: certificates.root, intermediates: roster.all, clock: clock)
        let connections = ConnectionRegistry()
        // Per-request mTLS checks read revocation and registration from memory, kept current by
        // the coordinator (docs/performance.md: kept-alive mTLS throughput).
        let storeStatus = StoreClientStatus(store: store)
        let clientStatus = ClientStatusCache(revocation: storeStatus, registry: storeStatus)
        let coordinator = RevocationCoordinator(
            ocsp: responders, crlPublishers: crlPublishers, caches: [clientStatus], connections: connections, logger: logger)

        let auditJournal = AuditJournal(store: store, path: state.path("audit", "audit.jsonl"), logger: logger)

        // 5. The one event stream of the RA (docs/architecture.md#event-stream), complete before
        // the RA exists: every issuance and revocation of every path reaches these, in order.
        // The agent-status documents of the fast path: forgotten on every event, right after the
        // revocation caches (docs/performance.md#agent-status-fast-path).
        let statusDocuments = AgentStatusDocumentCache()
        let events = AuthorityEventStream([coordinator, statusDocuments, metrics, auditJournal])

        // 6. The CA over the RA.
        let base = configuration.publicBaseURL
        let settings = CASettings(
            organization: configuration.ca.organization, agentsUnit: configuration.ca.agentsUnit,
            agentValidity: TimeInterval(configuration.ca.agentValidityDays) * 86_400,
            // Each certificate points at its own issuer's CRL, which stays at this URL after a
            // renewal (`/crl/intermediate.crl` always names the current issuer's).
            crlURL: base + "/crl/issuer/\(try IssuerRoster.ski(certificates.intermediate)).crl", ocspURL: base + "/ocsp",
            caIssuersURL: base + "/ca/chain.pem",
            retryAfterSeconds: configuration.enrollment.retryAfterSeconds)
        let supersededAfter = configuration.ca.revokeSupersededAfterHours
        // The appliance's own names are never issued to an agent: those of this configuration,
        // and those of the server certificate on disk (issued under an earlier configuration and
        // still presented until it is rotated).
        var ownNames = configuration.ownNames
        if FileManager.default.fileExists(atPath: state.serverCertificate) {
            ownNames += try ApplianceConfiguration.names(in: PEMCodec.certificate(from: SecureFile.read(state.serverCertificate)))
        }
        let ca = try IntermediateCA.load(
            state: state, privateKey: key, store: store, settings: settings, roster: roster,
            policy: RegistrationPolicy(
                renewBefore: TimeInterval(configuration.ca.renewBeforeDays) * 86_400,
                revokeSupersededAfter: supersededAfter > 0 ? TimeInterval(supersededAfter) * 3600 : nil,
                pendingLifetime: TimeInterval(configuration.enrollment.pendingExpiryDays) * 86_400,
                maxPendingPerSource: configuration.enrollment.maxPendingPerSource,
                reservedNames: ownNames),
            clock: clock, random: random, events: events, crlPublication: crlPublishers)
        // The responder certificates are the appliance's own: issued through the RA, audited and
        // announced like every other certificate (docs/architecture.md#event-stream).
        for issuerResponder in responders.all {
            await issuerResponder.attach(authority: ca.authority)
            try await issuerResponder.prepare()
        }
        let retirement = IssuerRetirement(
            state: state, roster: roster, root: certificates.root, store: store, clock: clock, logger: logger,
            trust: trust, crlPublishers: crlPublishers, ocsp: responders)

        // 7. The server certificate: issued or rotated if due, then the holder the listener
        // presents, then the manager that rotates into it while serving.
        let serverIdentity = ServerCertificateManager.Identity(
            fqdn: configuration.server.fqdn, dnsNames: configuration.server.dnsNameList,
            ipAddresses: configuration.server.ipAddressBytes)
        let initial = ServerCertificateManager(state: state, ca: ca, identity: serverIdentity)
        _ = try await initial.rotateIfDue()
        let material = try initial.tlsMaterial()
        let holder = try ServerCertificateHolder(chainPEM: material.chainPEM, keyPEM: material.keyPEM, trust: trust)
        let manager = ServerCertificateManager(state: state, ca: ca, identity: serverIdentity, holder: holder)

        // 8. Services and the application.
        // Several nodes on one database: revocations committed by the others take effect here too.
        var sharedStoreServices: [any ServiceLifecycleService] = []
        if configuration.store.kind == .postgresql {
            sharedStoreServices.append(
                SharedStoreRevocationFollower(
                    store: store, issuers: try roster.all.map(IssuerRoster.ski), coordinator: coordinator, metrics: metrics, logger: logger))
        }
        var services = ApplianceServices(
            certificateAuthority: ca,
            clientAuthenticator: StandardClientAuthenticator(trust: trust, revocation: clientStatus, registry: clientStatus, clock: clock),
            revocation: clientStatus, revocationPublisher: crlPublishers, ocsp: responders, administration: ca, trust: trust,
            serverCertificate: holder,
            backgroundServices: crlPublishers.all + [
                IssuerRetirementService(retirement: retirement), ServerCertificateRotationService(manager: manager, logger: logger),
                SupersededRevocationService(ca: ca, logger: logger),
                // Stale = older than any request may run (its handler was cancelled or its process died).
                ReservationReaperService(ca: ca, staleAfter: 2 * configuration.limits.requestTimeoutSeconds, logger: logger),
                auditJournal,
                InventoryGauges(store: store, metrics: metrics, clock: clock, logger: logger),
            ] + (tokenMonitor.map { [$0 as any ServiceLifecycleService] } ?? []) + sharedStoreServices,
            connections: connections,
            health: { [tokenMonitor, store] in
                // A shared store with no writable host: issuance fails (503) until a primary is back.
                if let reason = store.unwritableReason {
                    return .degraded(reason: "no writable store: \(reason)")
                }
                // A missing signing key outranks a CRL problem: nothing can be signed at all.
                if let token = tokenMonitor?.health, !token.isHealthy { return token }
                var attention: [String] = []
                for publisher in crlPublishers.all {
                    switch await publisher.health {
                    case .degraded(let reason): return .degraded(reason: reason)
                    case .attention(let reason): attention.append(reason)
                    case .healthy: break
                    }
                }
                return attention.isEmpty ? .healthy : .attention(reason: attention.joined(separator: "; "))
            })
        services.agentStatusFastPath = AgentStatusFastPath(
            trust: trust, status: clientStatus, documents: statusDocuments, connections: connections, clock: clock, metrics: metrics)
        let issuerCertificates = roster.all
        services.console = ConsoleBackend(
            ca: ca, metrics: metrics,
            issuers: { [store] in
                var states: [ConsoleBackend.IssuerState] = []
                for (index, certificate) in issuerCertificates.enumerated() {
                    let ski = try IssuerRoster.ski(certificate)
                    states.append(
                        ConsoleBackend.IssuerState(
                            subject: String(describing: certificate.subject), ski: ski, current: index == 0,
                            lastCRL: try await store.lastPublication(issuerSKI: ski)))
                }
                return states
            },
            health: services.health,
            signingKey: { [tokenMonitor] in
                guard let tokenMonitor else { return "encrypted key file (no token)" }
                return tokenMonitor.health.isHealthy ? "token present and answering" : "token away: nothing can be signed"
            })
        let application = try buildApplication(configuration: configuration, services: services, metrics: metrics, logger: logger)
        return ApplianceRuntime(
            application: application, ca: ca, crlPublisher: crlPublishers.current, ocsp: responders.current,
            crlPublishers: crlPublishers, ocspResponders: responders, retirement: retirement, coordinator: coordinator)
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
