import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing

/// The real `appliance serve`, its intermediate key on a SoftHSM token behind
/// ``RemovableTokenModule`` (so the token can be pulled out or made to hang in `C_Sign`), driven
/// only from outside: curl, openssl, sqlite3 and the `appliance` admin commands. It can be
/// killed with SIGKILL and started again on the same state.
final class ServedTokenAppliance: @unchecked Sendable {
    let harness: SetupHarness
    let token: SoftHSMToken
    let module: RemovableTokenModule
    private(set) var https: Int
    private(set) var http: Int
    let config: String
    let pinFile: String
    private(set) var serve: ExternalTool.Running
    var work: TemporaryDirectory { harness.directory }
    var stateRoot: String { harness.state.root.path }
    var chain: String { harness.state.path("ca", "ca-chain.crt") }
    var database: String { harness.state.path("db", "rootkeeper.sqlite") }
    var httpsURL: String { "https://127.0.0.1:\(https)" }

    /// Sets up a state with its key on `token`, and starts serving. Agent certificates are always
    /// inside their renewal window (20-day lifetime, renewal from 30 days before expiry).
    static func start(harness: SetupHarness, token: SoftHSMToken) async throws -> ServedTokenAppliance {
        // `serve` runs as root here, so it drops to `nobody`, which must reach the state and the token.
        chmod(harness.directory.path, 0o755)
        let module = try RemovableTokenModule(in: harness.directory)
        let location = PKCS11KeyLocation(modulePath: SoftHSMToken.modulePath, token: token.label)
        let result = try await ApplianceSetup.initialize(
            stateDirectory: harness.state, configuration: SetupHarness.request,
            keyBackend: .pkcs11(location, pin: SecretBytes(utf8: token.userPIN)), media: harness.media)
        let bundle = harness.directory.file("cert")
        try await harness.ceremony(csrBundle: result.bundlePath, out: bundle)
        _ = try ApplianceSetup.install(stateDirectory: harness.state, from: bundle, rootFingerprint: try harness.rootFingerprint)

        let config = harness.directory.file("appliance.yaml")
        let pinFile = harness.directory.file("token.pin")
        #expect(FileManager.default.createFile(atPath: pinFile, contents: Data((token.userPIN + "\n").utf8), attributes: [.posixPermissions: 0o600]))
        try LoopbackServe.writeConfiguration(
            to: config, state: harness.state.root.path,
            extra: """
                pkcs11:
                  module: \(module.path)
                  token: \(token.label)
                ca:
                  agent_validity_days: 20
                  renew_before_days: 30
                """, ownedByService: [token.directory.path])
        chmod(token.directory.path, 0o755)
        let started = try Self.launch(state: harness.state.root.path, token: token, module: module, config: config, pinFile: pinFile)
        return ServedTokenAppliance(
            harness: harness, token: token, module: module, https: started.https, http: started.http,
            config: config, pinFile: pinFile, serve: started.process)
    }

    private init(
        harness: SetupHarness, token: SoftHSMToken, module: RemovableTokenModule, https: Int, http: Int, config: String,
        pinFile: String, serve: ExternalTool.Running
    ) {
        self.harness = harness
        self.token = token
        self.module = module
        self.https = https
        self.http = http
        self.config = config
        self.pinFile = pinFile
        self.serve = serve
    }

    private static func launch(
        state: String, token: SoftHSMToken, module: RemovableTokenModule, config: String, pinFile: String
    ) throws -> LoopbackServe.Started {
        try LoopbackServe.start(
            state: state, config: config, secret: ["--pin-source", "file:\(pinFile)"],
            environment: token.environment.merging(module.environment) { $1 })
    }

    /// SIGKILL: no shutdown code runs (a power cut, the OOM killer, `kill -9`).
    func kill() {
        serve.stop(signal: SIGKILL, timeout: 10)
        _ = ProcessReaper.terminate(commandLineContaining: stateRoot)
    }

    /// Serves the same state again.
    func restart() throws {
        // Port 0 again: the OS chooses, and the new ports are read back.
        let started = try Self.launch(state: stateRoot, token: token, module: module, config: config, pinFile: pinFile)
        (serve, https, http) = (started.process, started.https, started.http)
    }

    func stop() {
        serve.stop()
        _ = ProcessReaper.terminate(commandLineContaining: stateRoot)
    }

    var output: String { serve.output }

    func get(_ path: String) throws -> (code: String, body: String) {
        let out = try ExternalTool("curl").run(["-sS", "-w", "\n%{http_code}", "http://127.0.0.1:\(http)\(path)"])
        let lines = out.stdout.components(separatedBy: "\n")
        return (lines.last ?? "", lines.dropLast().joined(separator: "\n"))
    }

    func waitFor(_ what: String, tries: Int = 150, _ condition: () throws -> Bool) throws {
        for _ in 0..<tries where try !condition() { usleep(200_000) }
        try #require(try condition(), "\(what) (serve output:\n\(serve.output))")
    }

    func waitUntilHealthy() throws {
        try waitFor("the appliance did not become healthy") { (try? get("/health"))?.code == "200" }
    }

    /// `appliance …` admin command against the running appliance; its stdout.
    func admin(_ arguments: [String]) throws -> String {
        let result = try ProductBinary.tool("appliance").run(arguments + ["--state-dir", stateRoot])
        try #require(result.succeeded, "appliance \(arguments.joined(separator: " ")) failed: \(result.output)")
        return result.stdout
    }

    /// A one-time token for `hostname`.
    func createToken(hostname: String) throws -> String {
        try admin(["agents", "token", "--hostname", hostname]).split(whereSeparator: \.isWhitespace).last.map(String.init) ?? ""
    }

    /// One answer of sqlite3 on the appliance's database (read-only).
    func sql(_ query: String) throws -> String {
        let result = try ExternalTool("sqlite3").run(["-readonly", database, query])
        try #require(result.succeeded, "sqlite3 failed: \(result.output)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// An agent key and CSR made with openssl (CN `agent-<host>-<uuid>`), reused across attempts.
struct OpenSSLAgentRequest {
    let hostname: String
    let uuid: String
    let key: String
    let csrBase64: String

    init(hostname: String, in work: TemporaryDirectory, uuid: String = UUID().uuidString.lowercased(), name: String? = nil) throws {
        let name = name ?? hostname
        self.hostname = hostname
        self.uuid = uuid
        key = work.file("\(name).key")
        csrBase64 = work.file("\(name).b64")
        let openssl = try ExternalTool("openssl")
        let made = try openssl.run([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-subj", "/CN=agent-\(hostname)-\(uuid)", "-outform", "DER", "-out", work.file("\(name).csr"),
        ])
        try #require(made.succeeded, "\(made.output)")
        try openssl.run(["base64", "-in", work.file("\(name).csr")]).stdout.write(toFile: csrBase64, atomically: true, encoding: .utf8)
    }

    /// POSTs the CSR to `route` (curl), with a bearer token or a client certificate; returns the
    /// HTTP status and, on 200, the certificate as a PEM file.
    func post(
        to appliance: ServedTokenAppliance, route: String = "simpleenroll", token: String? = nil,
        clientCertificate: (cert: String, key: String)? = nil, name: String
    ) throws -> (code: String, certificate: String?, body: String) {
        let work = appliance.work
        var arguments = [
            "-sS", "--max-time", "60", "-o", work.file("\(name).reply"), "-w", "%{http_code}", "--cacert", appliance.chain,
            "-H", "Content-Type: application/pkcs10", "--data-binary", "@\(csrBase64)",
        ]
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        if let clientCertificate { arguments += ["--cert", clientCertificate.cert, "--key", clientCertificate.key] }
        let reply = try ExternalTool("curl").run(arguments + ["\(appliance.httpsURL)/.well-known/est/\(route)"])
        let body = (try? String(contentsOfFile: work.file("\(name).reply"), encoding: .utf8)) ?? ""
        guard reply.stdout == "200" else { return (reply.stdout, nil, body) }
        let openssl = try ExternalTool("openssl")
        _ = try openssl.run(["base64", "-d", "-in", work.file("\(name).reply"), "-out", work.file("\(name).p7")])
        _ = try openssl.run(["pkcs7", "-inform", "DER", "-in", work.file("\(name).p7"), "-print_certs", "-out", work.file("\(name).crt")])
        return ("200", work.file("\(name).crt"), body)
    }
}

/// The serial of a PEM certificate as the store writes it (lower-case hex), via openssl.
func opensslSerial(_ certificate: String) throws -> String {
    let out = try ExternalTool("openssl").run(["x509", "-in", certificate, "-noout", "-serial"]).stdout
    return out.replacingOccurrences(of: "serial=", with: "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
}

/// Whether the private key and certificate files belong together (their public keys, per openssl).
func opensslPairMatches(key: String, certificate: String) throws -> Bool {
    let openssl = try ExternalTool("openssl")
    let fromKey = try openssl.run(["pkey", "-in", key, "-pubout"])
    let fromCertificate = try openssl.run(["x509", "-in", certificate, "-noout", "-pubkey"])
    return fromKey.succeeded && fromCertificate.succeeded && !fromKey.stdout.isEmpty && fromKey.stdout == fromCertificate.stdout
}
