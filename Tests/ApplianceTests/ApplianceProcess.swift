import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing
import X509

/// The real `appliance serve` (file key) over a state built by `init` + a run-time root ceremony +
/// `install`, observed only from outside: `appliance agents …` through admin.sock, curl and
/// openssl over loopback with ports chosen at run time, sqlite3 on the database file.
final class ApplianceProcess: @unchecked Sendable {
    let harness: SetupHarness
    let serve: ExternalTool.Running
    let https: Int
    let http: Int
    var directory: TemporaryDirectory { harness.directory }
    var stateRoot: String { harness.state.root.path }
    var chain: String { harness.state.path("ca", "ca-chain.crt") }
    var database: String { harness.state.path("db", "rootkeeper.sqlite") }

    private init(harness: SetupHarness, serve: ExternalTool.Running, https: Int, http: Int) {
        self.harness = harness
        self.serve = serve
        self.https = https
        self.http = http
    }

    /// Starts `appliance serve` with `extraConfiguration` (YAML lines appended to the file), runs
    /// `body`, then stops it and removes everything.
    static func with(extraConfiguration: String = "", _ body: (ApplianceProcess) async throws -> Void) async throws {
        let harness = try await SetupHarness.make()
        defer { harness.remove() }
        // `serve` runs as root here, so it drops to `nobody`, which must reach the state.
        chmod(harness.directory.path, 0o755)
        let result = try await harness.initialize()
        let bundle = harness.directory.file("cert")
        try await harness.ceremony(csrBundle: result.bundlePath, out: bundle)
        _ = try ApplianceSetup.install(stateDirectory: harness.state, from: bundle, rootFingerprint: try harness.rootFingerprint)
        let config = harness.directory.file("appliance.yaml")
        try LoopbackServe.writeConfiguration(to: config, state: harness.state.root.path, extra: extraConfiguration)
        let passphrase = harness.directory.file("key.passphrase")
        try #require(
            FileManager.default.createFile(
                atPath: passphrase, contents: Data("correct horse battery staple\n".utf8),
                attributes: [.posixPermissions: 0o600]))
        let started = try LoopbackServe.start(
            state: harness.state.root.path, config: config, secret: ["--passphrase-file", passphrase], adminSocket: harness.state.adminSocket)
        let serve = started.process
        defer {
            serve.stop()
            ProcessReaper.terminate(commandLineContaining: harness.state.root.path)
        }
        try await body(ApplianceProcess(harness: harness, serve: serve, https: started.https, http: started.http))
    }

    /// Stops this `serve` and starts another on the same state and configuration (after the
    /// state was edited from outside); returns it without waiting for it to become healthy.
    func restart() throws -> ExternalTool.Running {
        serve.stop()
        ProcessReaper.terminate(commandLineContaining: stateRoot)
        if geteuid() == 0 { _ = try ExternalTool("chown").run(["-R", "nobody:", stateRoot]) }
        return try ProductBinary.tool("appliance").start(
            [
                "serve", "--state-dir", stateRoot, "--config", directory.file("appliance.yaml"),
                "--passphrase-file", directory.file("key.passphrase"),
            ])
    }

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
    func enrol(csrDER: [UInt8], token: String?, interface: String? = nil, name: String = UUID().uuidString) throws -> (
        status: Int, body: String, certificate: String?
    ) {
        let b64 = directory.file("\(name).b64")
        let reply = directory.file("\(name).reply")
        try Data(csrDER).base64EncodedString(options: .lineLength64Characters).write(toFile: b64, atomically: true, encoding: .utf8)
        var arguments = [
            "-sS", "-o", reply, "-w", "%{http_code}", "--cacert", chain, "-H", "Content-Type: application/pkcs10", "-H", "@-",
            "--data-binary", "@\(b64)", "https://127.0.0.1:\(https)/.well-known/est/simpleenroll",
        ]
        if let interface { arguments = ["--interface", interface] + arguments }
        let headers = token.map { "Authorization: Bearer \($0)\n" } ?? ""
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
            """, "sh", harness.state.path("ca", "intermediate-ca.crt"),
        ])
        try #require(pin.succeeded, "\(pin.output)")
        return "sha256/" + pin.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// One sqlite3 query on the live database (read-only), as text.
    func sql(_ query: String) throws -> String {
        try ExternalTool("sqlite3").run(["-readonly", database, query]).stdout
    }
}
