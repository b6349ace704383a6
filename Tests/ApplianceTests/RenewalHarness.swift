import ApplianceKit
import CAStore
import Foundation
import Logging
import PKICore
import SecureFiles
import TestSupport
import X509

/// A real appliance state directory taken through `init` → ceremony → `install`, then renewed
/// (`intermediate csr` → ceremony → `install`), served in-process by ``ApplianceRuntime`` on
/// loopback with OS-chosen ports, so curl and openssl talk to it as relying parties would.
struct RenewalHarness {
    let setup: SetupHarness
    var state: StateDirectory { setup.state }
    var directory: TemporaryDirectory { setup.directory }
    static let admin = AdminCaller(uid: 0, pid: 1)

    static func make() async throws -> RenewalHarness {
        let setup = try await SetupHarness.make()
        _ = try await setup.initialize()
        try await setup.ceremony(csrBundle: setup.media + "/intermediate-csr", out: setup.media + "/intermediate-cert")
        _ = try ApplianceSetup.install(
            stateDirectory: setup.state, from: setup.media + "/intermediate-cert", rootFingerprint: try setup.rootFingerprint)
        try setup.pki.root.serializeAsPEM().pemString.write(toFile: setup.directory.file("root.pem"), atomically: true, encoding: .utf8)
        return RenewalHarness(setup: setup)
    }

    /// `appliance intermediate csr --out …`, the ceremony, then `appliance intermediate install`.
    func renew(_ name: String) async throws -> ApplianceSetup.Installed {
        let out = setup.media + "/\(name)-csr"
        _ = try await ApplianceSetup.intermediateCSR(
            stateDirectory: state, configuration: SetupHarness.request, keyBackend: .file(passphrase: setup.passphrase), out: out)
        try await setup.ceremony(csrBundle: out, out: setup.media + "/\(name)-cert")
        return try ApplianceSetup.install(stateDirectory: state, from: setup.media + "/\(name)-cert", rootFingerprint: try setup.rootFingerprint)
    }

    var configuration: ApplianceConfiguration {
        var configuration = ApplianceConfiguration()
        configuration.stateDirectory = state.root.path
        configuration.https = .init(address: "127.0.0.1", port: 0)
        configuration.http = .init(address: "127.0.0.1", port: 0)
        configuration.ca.organization = setup.pki.organization
        configuration.ca.publicURL = "http://ca.example.test"
        // Fresh 90-day agent certificates are inside the renewal window at once (default 30 days).
        configuration.ca.renewBeforeDays = 90
        return configuration
    }

    func start(clock: any PKIClock = SystemClock()) async throws -> ServingAppliance {
        var logger = Logger(label: "renewal-test")
        logger.logLevel = .warning
        let runtime = try await ApplianceRuntime.build(configuration: configuration, secret: setup.passphrase, clock: clock, logger: logger)
        let task = Task { try await runtime.application.run(gracefulShutdownSignals: []) }
        let ports = try await withTimeout(seconds: 30) { await runtime.application.addresses.waitUntilListening() }
        return ServingAppliance(runtime: runtime, task: task, https: ports.https, http: ports.http, directory: directory)
    }

    /// Writes `certificate` as PEM under the test directory and returns the path.
    func write(_ certificate: Certificate, _ name: String) throws -> String {
        let path = directory.file(name)
        try certificate.serializeAsPEM().pemString.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func remove() { setup.remove() }
}

/// An agent's files for curl/openssl.
struct AgentFiles {
    let hostname: String
    let uuid: String
    let certificate: Certificate
    let cert: String
    let key: String
}

/// One running `ApplianceRuntime`.
struct ServingAppliance {
    let runtime: ApplianceRuntime
    let task: Task<Void, any Error>
    let https: Int
    let http: Int
    let directory: TemporaryDirectory

    var httpURL: String { "http://127.0.0.1:\(http)" }
    var httpsURL: String { "https://127.0.0.1:\(https)" }

    func stop() async {
        task.cancel()
        _ = await task.result
    }

    /// Enrols an agent with a one-time token (in-process EST) and writes its certificate and key.
    func enroll(_ hostname: String) async throws -> AgentFiles {
        let token = try await runtime.ca.createToken(hostname: hostname, caller: RenewalHarness.admin)
        let request = try CAHarness.agentCSR(hostname: hostname)
        let outcome = try await runtime.ca.enroll(csrDER: request.der, token: token, source: "127.0.0.1")
        guard case .issued(let certificate, _) = outcome else { throw TestFailure("expected issued, got \(outcome)") }
        let cert = directory.file("\(hostname).crt")
        let key = directory.file("\(hostname).key")
        try certificate.serializeAsPEM().pemString.write(toFile: cert, atomically: true, encoding: .utf8)
        try request.key.serializeAsPEM().pemString.write(toFile: key, atomically: true, encoding: .utf8)
        return AgentFiles(hostname: hostname, uuid: request.uuid, certificate: certificate, cert: cert, key: key)
    }

    /// `simplereenroll` over mTLS with curl (client certificate of `agent`), a new openssl key;
    /// returns the new certificate's PEM path and the HTTP status.
    func renewWithCurl(_ agent: AgentFiles, root: String) async throws -> (status: Int, cert: String, key: String) {
        let name = "\(agent.hostname)-renewed"
        let csr = try await opensslCSR(in: directory, name: name, commonName: "agent-\(agent.hostname)-\(agent.uuid)")
        let response = directory.file("\(name).p7.b64")
        let result = try await ExternalTool("curl").runAsync([
            "-sS", "--max-time", "20", "--cacert", root, "--cert", agent.cert, "--key", agent.key, "-H", "Content-Type: application/pkcs10",
            "--data-binary", "@\(csr.b64)", "-o", response, "-w", "%{http_code}", "\(httpsURL)/.well-known/est/simplereenroll",
        ])
        let status = Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let cert = directory.file("\(name).crt")
        if status == 200 {
            let decode = try await Curl.shell("openssl base64 -d -in '\(response)' | openssl pkcs7 -inform DER -print_certs -out '\(cert)'")
            guard decode.succeeded else { throw TestFailure("cannot decode the EST response: \(decode.output)") }
        }
        return (status, cert, csr.key)
    }

    /// GET over mTLS with the agent's certificate; returns the HTTP status.
    func mtlsStatus(_ agent: AgentFiles, root: String) async throws -> Int {
        let result = try await ExternalTool("curl").runAsync([
            "-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", root,
            "--cert", agent.cert, "--key", agent.key, "\(httpsURL)/api/v1/agent/status",
        ])
        let status = Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        // No HTTP status (timeout, refused handshake): say why in the log, so a failed `== 200`
        // tells a slow machine from a refusal.
        if status == 0 { print("mtlsStatus: no HTTP status from \(httpsURL): \(result.stderr)") }
        return status
    }

    /// Downloads `path` from the HTTP listener into `file`; returns the HTTP status.
    func download(_ path: String, to file: String) async throws -> Int {
        let result = try await ExternalTool("curl").runAsync(["-sS", "--max-time", "20", "-o", file, "-w", "%{http_code}", httpURL + path])
        return Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
}
