import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing
import X509

/// The one fixture that runs the real `appliance serve` binary: on a state directory, with a
/// configuration on 127.0.0.1 and port 0 for both listeners (the OS chooses; `serve` reports the
/// ports it bound and they are read back, so no port is guessed in advance and raced for), as
/// `nobody` when the tests run as root (which then owns the state), observed only from outside:
/// the admin CLI through admin.sock, curl and openssl over loopback, sqlite3 on the database file.
/// It can be stopped, killed with SIGKILL and started again on the same state. Three ways in:
/// - ``with(extraConfiguration:_:)``: a state made by `init` + a run-time root ceremony +
///   `install` (``SetupHarness``), the intermediate key in a passphrase-protected file;
/// - ``start(harness:token:)``: the same with the key on a SoftHSM token behind
///   ``RemovableTokenModule`` (so the token can be pulled out or made to hang in `C_Sign`);
/// - ``init(state:work:passphrase:name:extraConfiguration:)``: a state made elsewhere (renewed,
///   restored from a backup).
final class ApplianceProcess: @unchecked Sendable {
    /// The test's working directory (the state, the configuration and the files the helpers write).
    let directory: TemporaryDirectory
    let stateRoot: String
    let config: String
    private let secret: [String]
    /// Added to the environment of `serve` and of the curl this fixture runs against it (empty,
    /// or ``ShiftedClock`` to run both ahead of the real clock, so certificates `serve` issues
    /// at its time are current for its clients too).
    let environment: [String: String]
    private let requireHealthy: Bool
    private let waitsForAdminSocket: Bool
    private let tokenModule: RemovableTokenModule?
    /// The token module of ``start(harness:token:)``; a file-key appliance has none.
    var module: RemovableTokenModule {
        get throws {
            guard let tokenModule else { throw TestFailure("this appliance keeps its key in a file, not on a token") }
            return tokenModule
        }
    }
    private(set) var process: ExternalTool.Running
    private(set) var https: Int
    private(set) var http: Int

    var state: StateDirectory { StateDirectory(path: stateRoot) }
    var chain: String { state.path("ca", "ca-chain.crt") }
    var database: String { state.path("db", "rootkeeper.sqlite") }
    var httpURL: String { "http://127.0.0.1:\(http)" }
    var httpsURL: String { "https://127.0.0.1:\(https)" }
    var output: String { process.output }

    private init(
        directory: TemporaryDirectory, stateRoot: String, config: String, secret: [String], environment: [String: String] = [:],
        requireHealthy: Bool = true, waitsForAdminSocket: Bool = false, module: RemovableTokenModule? = nil
    ) throws {
        self.directory = directory
        self.stateRoot = stateRoot
        self.config = config
        self.secret = secret
        self.environment = environment
        self.requireHealthy = requireHealthy
        self.waitsForAdminSocket = waitsForAdminSocket
        self.tokenModule = module
        let started = try Self.launch(
            state: stateRoot, config: config, secret: secret, environment: environment, requireHealthy: requireHealthy,
            adminSocket: waitsForAdminSocket ? StateDirectory(path: stateRoot).adminSocket : nil)
        (process, https, http) = (started.process, started.https, started.http)
    }

    /// Starts `appliance serve` on a new installed state with `extraConfiguration` (YAML lines
    /// appended to the file), runs `body`, then stops it and removes everything.
    static func with(extraConfiguration: String = "", _ body: (ApplianceProcess) async throws -> Void) async throws {
        let (app, harness) = try await installed(extraConfiguration: extraConfiguration)
        defer {
            app.stop()
            harness.remove()
        }
        try await body(app)
    }

    /// `appliance serve` on a new installed state (file key), healthy and with its admin socket;
    /// the caller stops it and removes the harness.
    static func installed(extraConfiguration: String = "") async throws -> (ApplianceProcess, SetupHarness) {
        let harness = try await SetupHarness.make()
        do {
            // `serve` runs as root here, so it drops to `nobody`, which must reach the state.
            chmod(harness.directory.path, 0o755)
            let result = try await harness.initialize()
            let bundle = harness.directory.file("cert")
            try await harness.ceremony(csrBundle: result.bundlePath, out: bundle)
            _ = try ApplianceSetup.install(stateDirectory: harness.state, from: bundle, rootFingerprint: try harness.rootFingerprint)
            let config = harness.directory.file("appliance.yaml")
            try writeConfiguration(to: config, state: harness.state.root.path, extra: extraConfiguration)
            let passphrase = harness.directory.file("key.passphrase")
            try #require(
                FileManager.default.createFile(
                    atPath: passphrase, contents: Data("correct horse battery staple\n".utf8),
                    attributes: [.posixPermissions: 0o600]))
            let app = try ApplianceProcess(
                directory: harness.directory, stateRoot: harness.state.root.path, config: config, secret: ["--passphrase-file", passphrase],
                waitsForAdminSocket: true)
            return (app, harness)
        } catch {
            harness.remove()
            throw error
        }
    }

    /// Sets up a state with its key on `token` (behind a ``RemovableTokenModule``) and starts
    /// serving. Agent certificates are always inside their renewal window (20-day lifetime,
    /// renewal from 30 days before expiry). The caller removes `harness`.
    static func start(harness: SetupHarness, token: SoftHSMToken) async throws -> ApplianceProcess {
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
        try writeConfiguration(
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
        return try ApplianceProcess(
            directory: harness.directory, stateRoot: harness.state.root.path, config: config, secret: ["--pin-source", "file:\(pinFile)"],
            environment: token.environment.merging(module.environment) { $1 }, module: module)
    }

    /// Starts `serve` on `state` (made elsewhere) with the intermediate key's `passphrase` (written
    /// to a 0600 file under `work`) and waits (bounded) until `/health` answers at all.
    /// `extraConfiguration` continues the `ca:` block.
    convenience init(
        state: String, work: TemporaryDirectory, passphrase: String, name: String = "serve", extraConfiguration: String = "",
        environment: [String: String] = [:]
    ) throws {
        chmod(work.path, 0o755)  // nobody must reach the state directory below it
        let config = work.file("\(name).yaml")
        let secret = work.file("\(name).passphrase")
        // The OS chooses the ports, so the URLs in issued certificates cannot name the HTTP port;
        // tests fetch CRLs and OCSP from `httpURL` themselves.
        try Self.writeConfiguration(
            to: config, state: state,
            extra: """
                ca:
                  organization: Rootkeeper Test
                  public_url: http://127.0.0.1
                \(extraConfiguration)
                """)
        FileManager.default.createFile(atPath: secret, contents: Data("\(passphrase)\n".utf8), attributes: [.posixPermissions: 0o600])
        try self.init(
            directory: work, stateRoot: state, config: config, secret: ["--passphrase-file", secret], environment: environment, requireHealthy: false)
    }

    /// SIGTERM, then any process left on this state.
    func stop() {
        process.stop()
        _ = ProcessReaper.terminate(commandLineContaining: stateRoot)
    }

    /// SIGKILL: no shutdown code runs (a power cut, the OOM killer, `kill -9`).
    func kill() {
        process.stop(signal: SIGKILL, timeout: 10)
        _ = ProcessReaper.terminate(commandLineContaining: stateRoot)
    }

    /// Serves the same state and configuration again, on new OS-chosen ports, and waits for it.
    func restart() throws {
        let started = try Self.launch(
            state: stateRoot, config: config, secret: secret, environment: environment, requireHealthy: requireHealthy,
            adminSocket: waitsForAdminSocket ? state.adminSocket : nil)
        (process, https, http) = (started.process, started.https, started.http)
    }

    /// Stops this `serve` and starts another on the same state and configuration (after the
    /// state was edited from outside); returns it without waiting for it to become healthy.
    func restartUnwatched() throws -> ExternalTool.Running {
        stop()
        if geteuid() == 0 { _ = try ExternalTool("chown").run(["-R", "nobody:", stateRoot]) }
        return try ProductBinary.tool("appliance").start(["serve", "--state-dir", stateRoot, "--config", config] + secret, environment: environment)
    }

    // MARK: Launching

    /// A running `serve` and the ports it reported.
    struct Started {
        let process: ExternalTool.Running
        let https: Int
        let http: Int
    }

    /// Writes the configuration to `path` (0644): `state_directory`, both listeners on loopback
    /// port 0, `user: nobody` as root, then `extra` (YAML lines, e.g. `pkcs11:` or `ca:` blocks).
    /// As root, `chown -R nobody:` each of `ownedByService` (the state, a token directory).
    static func writeConfiguration(to path: String, state: String, extra: String = "", ownedByService: [String] = []) throws {
        try """
        state_directory: \(state)
        https:
          address: 127.0.0.1
          port: 0
        http:
          address: 127.0.0.1
          port: 0
        \(geteuid() == 0 ? "user: nobody" : "")
        \(extra)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        guard geteuid() == 0 else { return }
        for owned in [state] + ownedByService {
            let chown = try ExternalTool("chown").run(["-R", "nobody:", owned])
            guard chown.succeeded else { throw TestFailure("chown \(owned): \(chown.output)") }
        }
    }

    /// Starts `appliance serve --state-dir STATE --config CONFIG SECRET…` (the state directory in
    /// argv lets `ProcessReaper` find the server by it; `secret`: `--passphrase-file F` or
    /// `--pin-source file:F`), reads back its ports and waits until `/health` answers 200
    /// (`requireHealthy: false`: any answer) and, if `adminSocket` is given, until it exists.
    static func launch(
        state: String, config: String, secret: [String], environment: [String: String] = [:], requireHealthy: Bool = true, adminSocket: String? = nil
    ) throws -> Started {
        let process = try ProductBinary.tool("appliance").start(
            ["serve", "--state-dir", state, "--config", config] + secret, environment: environment)
        guard let ports = process.listeningPorts() else {
            let output = process.output
            process.stop(signal: SIGTERM)
            throw TestFailure("appliance serve did not report its ports:\n\(output)")
        }
        let curl = try ExternalTool("curl")
        for _ in 0..<300 {
            let health = try curl.run(["-sS", "-o", "/dev/null", "--max-time", "2", "-w", "%{http_code}", "http://127.0.0.1:\(ports.http)/health"])
            let answered = requireHealthy ? health.stdout == "200" : health.succeeded
            if answered, adminSocket.map({ FileManager.default.fileExists(atPath: $0) }) ?? true {
                return Started(process: process, https: ports.https, http: ports.http)
            }
            guard process.isRunning else { break }
            usleep(100_000)
        }
        let output = process.output
        process.stop(signal: SIGTERM)
        throw TestFailure("appliance serve did not become healthy:\n\(output)")
    }

    // MARK: Talking to it

    /// `appliance agents token [--hostname NAME]`: the token, or the failed run.
    func token(hostname: String?) throws -> ExternalTool.Result {
        var arguments = ["agents", "token", "--state-dir", stateRoot]
        if let hostname { arguments += ["--hostname", hostname] }
        return try ProductBinary.tool("appliance").run(arguments)
    }

    /// The token printed by a successful ``token(hostname:)``.
    func requireToken(hostname: String?) throws -> String {
        let result = try token(hostname: hostname)
        try #require(result.succeeded, "agents token failed: \(result.output)")
        return try #require(result.stdout.split(whereSeparator: \.isWhitespace).last.map(String.init))
    }

    /// POSTs a DER CSR to simpleenroll with curl (the token goes in a header read from stdin, never
    /// argv); `interface` picks the source address. Returns the status and the body (the PEM
    /// certificate when 200).
    /// `https`: another node's HTTPS port (one state served twice) instead of this one's.
    func enrol(csrDER: [UInt8], token: String?, interface: String? = nil, https port: Int? = nil, name: String = UUID().uuidString) throws -> (
        status: Int, body: String, certificate: String?
    ) {
        let headers = token.map { "Authorization: Bearer \($0)\n" } ?? ""
        return try post(
            "simpleenroll", csrDER: csrDER, options: interface.map { ["--interface", $0] } ?? [], headers: headers, port: port ?? https, name: name)
    }

    /// POSTs a DER CSR to simplereenroll with curl over mTLS, with the client certificate and key
    /// files of the renewing agent. Returns the status and the body (the PEM certificate when 200).
    func renew(csrDER: [UInt8], certificate: String, key: String, name: String = UUID().uuidString) throws -> (
        status: Int, body: String, certificate: String?
    ) {
        try post("simplereenroll", csrDER: csrDER, options: ["--cert", certificate, "--key", key], headers: "", port: https, name: name)
    }

    private func post(_ route: String, csrDER: [UInt8], options: [String], headers: String, port: Int, name: String) throws -> (
        status: Int, body: String, certificate: String?
    ) {
        let b64 = directory.file("\(name).b64")
        let reply = directory.file("\(name).reply")
        try Data(csrDER).base64EncodedString(options: .lineLength64Characters).write(toFile: b64, atomically: true, encoding: .utf8)
        let arguments =
            options + [
                "-sS", "-o", reply, "-w", "%{http_code}", "--cacert", chain, "-H", "Content-Type: application/pkcs10", "-H", "@-",
                "--data-binary", "@\(b64)", "https://127.0.0.1:\(port)/.well-known/est/\(route)",
            ]
        let result = try ExternalTool("curl").run(arguments, stdin: Data(headers.utf8))
        let status = Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let body = String(decoding: FileManager.default.contents(atPath: reply) ?? Data(), as: UTF8.self)
        guard status == 200 else { return (status, body, nil) }
        let certificate = directory.file("\(name).crt")
        let openssl = try ExternalTool("openssl")
        _ = try openssl.run(["base64", "-d", "-in", reply, "-out", directory.file("\(name).p7")])
        let printed = try openssl.run([
            "pkcs7", "-inform", "DER", "-in", directory.file("\(name).p7"), "-print_certs", "-out", directory.file("\(name).all"),
        ])
        try #require(printed.succeeded, "\(printed.output)")
        // The first certificate of the reply is the agent's.
        let all = String(decoding: FileManager.default.contents(atPath: directory.file("\(name).all")) ?? Data(), as: UTF8.self)
        let first = try #require(all.components(separatedBy: "-----END CERTIFICATE-----").first) + "-----END CERTIFICATE-----\n"
        let pem = try #require(first.range(of: "-----BEGIN CERTIFICATE-----").map { String(first[$0.lowerBound...]) })
        try pem.write(toFile: certificate, atomically: true, encoding: .utf8)
        return (status, body, certificate)
    }

    /// A fresh agent CSR as `agent enroll` builds it.
    static func agentCSR(hostname: String, uuid: String = UUID().uuidString.lowercased()) throws -> [UInt8] {
        try PEMCodec.der(TestPKI.agentCSR(hostname: hostname, uuid: uuid, key: try KeyAlgorithm.p256.generatePrivateKey()))
    }

    /// The agent's `--pin` for the intermediate, computed with openssl (`sha256/` + base64 of the
    /// SPKI's SHA-256).
    func intermediatePin() throws -> String {
        let pin = try ExternalTool("sh").run([
            "-c",
            """
            openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | openssl base64 -A
            """, "sh", state.path("ca", "intermediate-ca.crt"),
        ])
        try #require(pin.succeeded, "\(pin.output)")
        return "sha256/" + pin.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// One sqlite3 query on the live database (read-only), as text.
    func sql(_ query: String) throws -> String {
        try ExternalTool("sqlite3").run(["-readonly", database, query]).stdout
    }

    /// One answer of sqlite3 on the database (read-only), trimmed; the query must succeed.
    func sqlValue(_ query: String) throws -> String {
        let result = try ExternalTool("sqlite3").run(["-readonly", database, query])
        try #require(result.succeeded, "sqlite3 failed: \(result.output)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `appliance ARGS --state-dir STATE` (the admin CLI through admin.sock).
    func admin(_ arguments: [String]) async throws -> ExternalTool.Result {
        try await ExternalTool(ProductBinary.path("appliance")).runAsync(arguments + ["--state-dir", stateRoot])
    }

    /// `appliance ARGS --state-dir STATE`, which must succeed; its stdout.
    func requireAdmin(_ arguments: [String]) throws -> String {
        let result = try ProductBinary.tool("appliance").run(arguments + ["--state-dir", stateRoot])
        try #require(result.succeeded, "appliance \(arguments.joined(separator: " ")) failed: \(result.output)")
        return result.stdout
    }

    /// GET `path` on the HTTP listener: the status and the body.
    func get(_ path: String) throws -> (code: String, body: String) {
        let out = try ExternalTool("curl").run(["-sS", "-w", "\n%{http_code}", "\(httpURL)\(path)"])
        let lines = out.stdout.components(separatedBy: "\n")
        return (lines.last ?? "", lines.dropLast().joined(separator: "\n"))
    }

    /// `/metrics` as text.
    func metrics() async throws -> String {
        try await ExternalTool("curl").runAsync(["-sS", "--max-time", "20", "\(httpURL)/metrics"]).stdout
    }

    /// The value of one sample line of `/metrics` (`name{labels}`), nil when absent.
    func metric(_ series: String) async throws -> Double? {
        try await metrics().split(separator: "\n").first { $0.hasPrefix(series + " ") }
            .flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    /// Polls `condition` (bounded: `tries` × 200 ms) and fails with `what` and serve's output.
    func waitFor(_ what: String, tries: Int = 150, _ condition: () throws -> Bool) throws {
        for _ in 0..<tries where try !condition() { usleep(200_000) }
        try #require(try condition(), "\(what) (serve output:\n\(process.output))")
    }

    func waitUntilHealthy() throws {
        try waitFor("the appliance did not become healthy") { (try? get("/health"))?.code == "200" }
    }

    /// Enrols an agent over EST (`simpleenroll`, RFC 7030 §4.2.1) with curl: a one-time token
    /// from `appliance agents token`, an openssl key and CSR; returns its certificate and key.
    func enrollWithCurl(_ hostname: String, in work: TemporaryDirectory, root: String) async throws -> (cert: String, key: String) {
        let token = try await admin(["agents", "token", "--hostname", hostname])
        guard token.succeeded, let value = token.stdout.split(whereSeparator: \.isWhitespace).last else {
            throw TestFailure("agents token: \(token.output)")
        }
        let csr = try await opensslCSR(in: work, name: hostname, commonName: "agent-\(hostname)-\(UUID().uuidString.lowercased())")
        let response = work.file("\(hostname).p7.b64")
        let cert = work.file("\(hostname).crt")
        let post = try await ExternalTool("curl").runAsync(
            [
                "-sS", "--max-time", "20", "--cacert", root, "-H", "Authorization: Bearer \(value)", "-H", "Content-Type: application/pkcs10",
                "--data-binary", "@\(csr.b64)", "-o", response, "-w", "%{http_code}", "\(httpsURL)/.well-known/est/simpleenroll",
            ], environment: environment)
        guard post.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "200" else {
            throw TestFailure("simpleenroll answered \(post.output): \((try? String(contentsOfFile: response, encoding: .utf8)) ?? "")")
        }
        let decode = try await Curl.shell(
            "openssl base64 -d -in '\(response)' | openssl pkcs7 -inform DER -print_certs | openssl x509 -out '\(cert)'")
        guard decode.succeeded else { throw TestFailure("cannot decode the EST response: \(decode.output)") }
        return (cert, csr.key)
    }

    /// Renews `agent` with `simplereenroll` (RFC 7030 §4.2.2) over mTLS with curl: a new openssl
    /// key and a CSR naming the same identity; returns the new certificate and key.
    func reenrollWithCurl(_ agent: (cert: String, key: String), as name: String, in work: TemporaryDirectory, root: String) async throws -> (
        cert: String, key: String
    ) {
        let csr = try await opensslCSR(in: work, name: name, commonName: try Self.agentCommonName(agent.cert))
        let response = work.file("\(name).p7.b64")
        let cert = work.file("\(name).crt")
        let post = try await ExternalTool("curl").runAsync(
            [
                "-sS", "--max-time", "20", "--cacert", root, "--cert", agent.cert, "--key", agent.key, "-H", "Content-Type: application/pkcs10",
                "--data-binary", "@\(csr.b64)", "-o", response, "-w", "%{http_code}", "\(httpsURL)/.well-known/est/simplereenroll",
            ], environment: environment)
        guard post.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "200" else {
            throw TestFailure("simplereenroll answered \(post.output): \((try? String(contentsOfFile: response, encoding: .utf8)) ?? "")")
        }
        let decode = try await Curl.shell(
            "openssl base64 -d -in '\(response)' | openssl pkcs7 -inform DER -print_certs | openssl x509 -out '\(cert)'")
        guard decode.succeeded else { throw TestFailure("cannot decode the EST response: \(decode.output)") }
        return (cert, csr.key)
    }

    /// The agent's identity as a (legacy, still accepted) CSR common name `agent-{hostname}-{uuid}`:
    /// the identity lives in the certificate's SANs (docs/identity.md), and an openssl CSR made
    /// with `-subj` alone carries no SANs.
    static func agentCommonName(_ cert: String) throws -> String {
        let san = try ExternalTool("openssl").run(["x509", "-in", cert, "-noout", "-ext", "subjectAltName"]).stdout
        guard let dns = san.firstMatch(of: /DNS:([^,\s]+)/)?.1, let uuid = san.firstMatch(of: /URI:urn:uuid:([0-9a-f-]{36})/)?.1 else {
            throw TestFailure("no agent identity in the SANs: \(san)")
        }
        return "agent-\(dns)-\(uuid)"
    }

    /// The certificate's serial as the store and the admin CLI name it.
    static func serial(of cert: String) throws -> String {
        IntermediateCA.serialHex(try PEMCodec.certificate(from: Array(try Data(contentsOf: URL(fileURLWithPath: cert)))))
    }
}
