import ApplianceKit
import Foundation
import Logging
import TestSupport
import X509

/// The appliance running for real on 127.0.0.1 with OS-chosen ports, the fake CA behind its
/// seams and a fresh state directory; files for curl/openssl (CA chain) are written next to it.
final class RunningAppliance: Sendable {
    let pki: TestPKI
    let ca: FakeCertificateAuthority
    let directory: TemporaryDirectory
    let state: StateDirectory
    let holder: ServerCertificateHolder
    let httpsPort: Int
    let httpPort: Int
    let task: Task<Void, any Error>
    /// Open mTLS connections by client serial, and the coordinator that closes them on revocation.
    let connections: ConnectionRegistry
    let coordinator: RevocationCoordinator

    /// Path of the PEM file holding intermediate + root (what clients pass to --cacert / -CAfile).
    var chainFile: String { directory.file("chain.pem") }
    /// Root only (for clients that must build the path through the server's chain).
    var rootFile: String { directory.file("root.pem") }
    var httpsURL: String { "https://127.0.0.1:\(httpsPort)" }
    var httpURL: String { "http://127.0.0.1:\(httpPort)" }

    private init(
        pki: TestPKI, ca: FakeCertificateAuthority, directory: TemporaryDirectory, state: StateDirectory,
        holder: ServerCertificateHolder, ports: (https: Int, http: Int), task: Task<Void, any Error>,
        connections: ConnectionRegistry, coordinator: RevocationCoordinator
    ) {
        self.connections = connections
        self.coordinator = coordinator
        self.pki = pki
        self.ca = ca
        self.directory = directory
        self.state = state
        self.holder = holder
        self.httpsPort = ports.https
        self.httpPort = ports.http
        self.task = task
    }

    static func start(
        configure: (inout ApplianceConfiguration) -> Void = { _ in },
        health: @escaping @Sendable () async -> PublisherHealth = { .healthy }
    ) async throws -> RunningAppliance {
        let pki = try await TestPKI.make(rootAlgorithm: .p256)
        let ca = FakeCertificateAuthority(pki: pki)
        let directory = try TemporaryDirectory("appliance")
        let state = StateDirectory(path: directory.file("state"))
        try state.create()
        try pki.chainPEM.write(toFile: directory.file("chain.pem"), atomically: true, encoding: .utf8)
        try pki.root.pem.write(toFile: directory.file("root.pem"), atomically: true, encoding: .utf8)

        var configuration = ApplianceConfiguration()
        configuration.stateDirectory = state.root.path
        configuration.https = .init(address: "127.0.0.1", port: 0)
        configuration.http = .init(address: "127.0.0.1", port: 0)
        configure(&configuration)

        let trust = ClientTrust(root: pki.root, intermediates: [pki.intermediate])
        let server = try await pki.serverCredentials(commonName: "appliance-one.test")
        let holder = try ServerCertificateHolder(chainPEM: server.chainPEM, keyPEM: server.keyPEM, trust: trust)
        var logger = Logger(label: "appliance-test")
        logger.logLevel = .warning
        let connections = ConnectionRegistry()
        let coordinator = RevocationCoordinator(ocsp: nil, crlPublisher: nil, connections: connections, logger: logger)
        let services = ApplianceServices(
            certificateAuthority: ca,
            clientAuthenticator: StandardClientAuthenticator(trust: trust, revocation: ca, registry: ca),
            revocation: ca, revocationPublisher: ca, ocsp: ca, administration: ca,
            trust: trust, serverCertificate: holder,
            backgroundServices: [],
            connections: connections, health: health)
        let app = try buildApplication(configuration: configuration, services: services, logger: logger)
        let task = Task { try await app.run(gracefulShutdownSignals: []) }
        let ports = try await withTimeout(seconds: 20) { await app.addresses.waitUntilListening() }
        return RunningAppliance(
            pki: pki, ca: ca, directory: directory, state: state, holder: holder, ports: ports, task: task,
            connections: connections, coordinator: coordinator)
    }

    func stop() async {
        task.cancel()
        _ = await task.result
        directory.remove()
    }

    /// Writes an agent's certificate and key (issued by the fake and registered) for curl.
    func agentFiles(hostname: String) async throws -> (cert: String, key: String, certificate: Certificate) {
        let credentials = try await pki.agentCredentials(hostname: hostname)
        ca.register(credentials.certificate)
        let cert = directory.file("\(hostname).crt")
        let key = directory.file("\(hostname).key")
        try credentials.certificate.pem.write(toFile: cert, atomically: true, encoding: .utf8)
        try credentials.keyPEM.write(toFile: key, atomically: true, encoding: .utf8)
        return (cert, key, credentials.certificate)
    }
}

/// Runs `body` and fails if it takes longer than `seconds` (keeps tests bounded).
func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TestFailure("timed out after \(seconds) s") }
        return value
    }
}

extension RunningAppliance {
    /// Starts an appliance, runs `body` against it and always stops it and removes its files.
    static func with(
        configure: (inout ApplianceConfiguration) -> Void = { _ in },
        health: @escaping @Sendable () async -> PublisherHealth = { .healthy },
        _ body: (RunningAppliance) async throws -> Void
    ) async throws {
        let app = try await start(configure: configure, health: health)
        do {
            try await body(app)
        } catch {
            await app.stop()
            throw error
        }
        await app.stop()
    }
}
