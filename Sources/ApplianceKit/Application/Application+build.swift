import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// A composed appliance: both listeners, the admin socket and background services, ready to run
/// in one ServiceGroup.
public struct ApplianceApplication: Sendable {
    /// Every service to run (HTTPS app, HTTP app, admin socket, background services).
    public let services: [any Service]
    /// Bound ports, known once running.
    public let addresses: BoundAddresses
    public let metrics: ApplianceMetrics
    public let logger: Logger

    /// Runs until cancelled or, when `gracefulShutdownSignals` are given, until SIGTERM/SIGINT;
    /// shutdown is graceful (in-flight requests finish).
    public func run(gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint]) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: gracefulShutdownSignals,
                logger: logger))
        try await group.run()
    }
}

/// Composes the appliance (docs/conventions.md#composition-root): the HTTPS listener (EST + agent API, mTLS via a rotating
/// TLS context), the HTTP listener (CRL, OCSP, CA chain, health, metrics), the admin socket at
/// `DIR/admin.sock` and the caller's background services.
public func buildApplication(
    configuration: ApplianceConfiguration,
    services: ApplianceServices,
    metrics: ApplianceMetrics = ApplianceMetrics(),
    logger: Logger = Logger(label: "rootkeeper.appliance")
) throws -> ApplianceApplication {
    try configuration.validate()
    let addresses = BoundAddresses()
    let http1 = HTTP1Channel.Configuration(
        additionalChannelHandlers: [
            IncompleteRequestCloser(
                maxBodyBytes: max(configuration.limits.maxESTBodyBytes, configuration.limits.maxOCSPRequestBytes))
        ],
        idleTimeout: .milliseconds(Int64(configuration.limits.idleTimeoutSeconds * 1000)),
        httpDecoderConfiguration: .init(
            maxHeaderFieldSize: configuration.limits.maxHeaderBytes,
            maxHeaderListSize: configuration.limits.maxHeaderBytes,
            maxHeaderFieldCount: 100))
    let timeout = RequestTimeoutMiddleware(timeout: .milliseconds(Int64(configuration.limits.requestTimeoutSeconds * 1000)))

    let httpsRouter = Router(context: ApplianceRequestContext.self)
    httpsRouter.add(middleware: timeout)
    HTTPSRoutes(
        services: services, configuration: configuration, metrics: metrics, logger: logger,
        rateLimits: EnrollmentRateLimits(limits: configuration.limits)
    ).register(on: httpsRouter)
    let verifier = HandshakeVerifier(
        trust: services.trust, revocation: services.revocation, connections: services.connections, metrics: metrics, logger: logger)
    let holder = services.serverCertificate
    let statusHandler: (@Sendable () -> any ChannelHandler)?
    if let fastPath = services.agentStatusFastPath {
        statusHandler = { AgentStatusFastPathHandler(fastPath: fastPath) }
    } else {
        statusHandler = nil
    }
    let https = Application(
        router: httpsRouter,
        server: HTTPServerBuilder { responder in
            // The agent-status fast path answers kept-alive polls from memory (docs/performance.md#agent-status-fast-path).
            RotatingTLSChannel(
                base: FastPathChannel(responder: responder, configuration: http1, position: .afterConnectionState, makeHandler: statusHandler),
                holder: holder, verifier: verifier)
        },
        configuration: .init(
            address: .hostname(configuration.https.address, port: configuration.https.port),
            serverName: "rootkeeper",
            availableConnectionsDelegate: MaximumAvailableConnections(configuration.limits.maxConnections, logger: logger)),
        onServerRunning: { channel in addresses.record(https: channel.localAddress?.port) },
        logger: logger)

    let ocsp = services.ocsp
    let ocspLimit = configuration.limits.maxOCSPRequestBytes
    let idleTimeout = http1.idleTimeout
    let ocspHandler: @Sendable () -> any ChannelHandler = {
        OCSPFastPathHandler(responder: ocsp, maxRequestBytes: ocspLimit, metrics: metrics, serverName: "rootkeeper", idleTimeout: idleTimeout)
    }
    // The OCSP fast path sees every request and answer of this listener before Hummingbird's
    // connection handler does, so it owns the idle timeout here (OCSPFastPathHandler).
    let plainHTTP1 = {
        var configuration = http1
        configuration.idleTimeout = nil
        return configuration
    }()
    let httpRouter = Router(context: ApplianceRequestContext.self)
    httpRouter.add(middleware: timeout)
    PublicRoutes(services: services, configuration: configuration, metrics: metrics, logger: logger).register(on: httpRouter)
    let http = Application(
        router: httpRouter,
        // OCSP answers already in the responder's cache skip Hummingbird (docs/performance.md).
        server: HTTPServerBuilder { responder in
            FastPathChannel(responder: responder, configuration: plainHTTP1, position: .afterConnectionPersistence, makeHandler: ocspHandler)
        },
        configuration: .init(
            address: .hostname(configuration.http.address, port: configuration.http.port),
            serverName: "rootkeeper",
            availableConnectionsDelegate: MaximumAvailableConnections(configuration.limits.maxConnections, logger: logger)),
        onServerRunning: { channel in addresses.record(http: channel.localAddress?.port) },
        logger: logger)

    // The administrators' web console (docs/console.md): its own listener, loopback by default,
    // with the same rotating server certificate and handshake check as HTTPS; every request is
    // then checked for an administrator certificate by ConsoleGuard.
    var consoleServices: [any Service] = []
    if configuration.console.enabled, let backend = services.console {
        let consoleRouter = Router(context: ConsoleRequestContext.self)
        consoleRouter.add(
            middleware: ConsoleGuard(
                authenticator: AdministratorAuthenticator(
                    trust: services.trust, revocation: services.revocation, certificates: backend.ca.store, clock: backend.ca.clock),
                sessions: ConsoleSessions(), metrics: metrics, logger: logger))
        ConsoleRoutes(backend: backend, logger: logger).register(on: consoleRouter)
        consoleServices.append(
            Application(
                router: consoleRouter,
                server: HTTPServerBuilder { responder in
                    RotatingTLSChannel(base: HTTP1Channel(responder: responder, configuration: http1), holder: holder, verifier: verifier)
                },
                configuration: .init(
                    address: .hostname(configuration.console.listener.address, port: configuration.console.listener.port),
                    serverName: "rootkeeper",
                    availableConnectionsDelegate: MaximumAvailableConnections(configuration.limits.maxConnections, logger: logger)),
                onServerRunning: { channel in addresses.record(console: channel.localAddress?.port) },
                logger: logger))
    }

    let admin = AdminSocketServer(
        path: StateDirectory(path: configuration.stateDirectory).adminSocket,
        service: services.administration, logger: logger)
    return ApplianceApplication(
        services: [https, http, admin] + consoleServices + services.backgroundServices,
        addresses: addresses, metrics: metrics, logger: logger)
}
