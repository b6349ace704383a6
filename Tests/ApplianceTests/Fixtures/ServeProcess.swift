import ApplianceKit
import Foundation
import PKICore
import TestSupport

/// The real `appliance serve` executable on a state directory, on loopback ports chosen at run
/// time, driven with the real admin CLI (`appliance … --state-dir`), curl and openssl. As root it
/// serves as `nobody`, which then owns the state (as `backup restore --owner` or the install
/// runbook arrange).
final class ServeProcess: @unchecked Sendable {
    let state: String
    let https: Int
    let http: Int
    let process: ExternalTool.Running
    /// Added to the environment of `serve` and of the curl this fixture runs against it (empty,
    /// or ``ShiftedClock`` to run both ahead of the real clock, so certificates `serve` issues
    /// at its time are current for its clients too).
    let environment: [String: String]

    var httpURL: String { "http://127.0.0.1:\(http)" }
    var httpsURL: String { "https://127.0.0.1:\(https)" }

    /// Starts `serve` on `state` with the intermediate key's `passphrase` (written to a 0600 file
    /// under `work`) and waits (bounded) until it answers `/health`.
    init(
        state: String, work: TemporaryDirectory, passphrase: String, name: String = "serve", extraConfiguration: String = "",
        environment: [String: String] = [:]
    ) throws {
        chmod(work.path, 0o755)  // nobody must reach the state directory below it
        self.state = state
        self.environment = environment
        let config = work.file("\(name).yaml")
        let secret = work.file("\(name).passphrase")
        // The OS chooses the ports, so the URLs in issued certificates cannot name the HTTP port;
        // tests fetch CRLs and OCSP from `httpURL` themselves.
        try LoopbackServe.writeConfiguration(
            to: config, state: state,
            extra: """
                ca:
                  organization: Rootkeeper Test
                  public_url: http://127.0.0.1
                \(extraConfiguration)
                """)
        FileManager.default.createFile(atPath: secret, contents: Data("\(passphrase)\n".utf8), attributes: [.posixPermissions: 0o600])
        let started = try LoopbackServe.start(
            state: state, config: config, secret: ["--passphrase-file", secret], environment: environment, requireHealthy: false)
        (process, https, http) = (started.process, started.https, started.http)
    }

    func stop() { process.stop(signal: SIGTERM) }

    /// `appliance ARGS --state-dir STATE` (the admin CLI through admin.sock).
    func admin(_ arguments: [String]) async throws -> ExternalTool.Result {
        try await ExternalTool(ProductBinary.path("appliance")).runAsync(arguments + ["--state-dir", state])
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

extension String {
    /// Appends this text to the file at `path`.
    func appendLine(to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(utf8))
    }
}
