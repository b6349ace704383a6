import AgentKit
import Foundation
import PKICore
import SwiftASN1
import TestSupport
import Testing
import X509

/// Issue #11, part 1 (agent side): "an agent enrolled with `--hostname localhost` gets a
/// clientAuth-only certificate for DNS:localhost. A Python `ssl` server presenting that
/// certificate plus the real intermediate and root was accepted by `agent enroll --server
/// https://localhost:PORT --pin <root pin>`, which then sent it `POST /.well-known/est/simpleenroll`
/// with `Authorization: Bearer <token>`." The attack is replayed against the real `agent` binary;
/// the impostor records every byte it receives after the handshake.
@Suite("An agent certificate cannot impersonate the appliance", .serialized)
struct ServerImpersonationTests {
    /// A run-time PKI, an agent certificate for `localhost` issued through the real agent
    /// profile, and a python TLS server presenting it with the real intermediate and root.
    struct Attack {
        let pki: TestPKI
        let impostor: RecordingTLSServer
        let work: TemporaryDirectory
        var rootPin: String { SPKIPin(of: pki.root).description }

        static func start() async throws -> Attack {
            let pki = try await TestPKI.make()
            let stolen = try await pki.issueAgent(hostname: "localhost")
            let impostor = try RecordingTLSServer(chain: [stolen.certificate, pki.intermediate, pki.root], key: stolen.privateKey)
            return Attack(pki: pki, impostor: impostor, work: try TemporaryDirectory("impersonation"))
        }

        func stop() {
            impostor.stop()
            work.remove()
        }

        /// An enrolled agent's `--out` directory whose state points at `server`, as if the
        /// appliance's address had been redirected to the impostor after enrolment.
        func enrolledAgentDirectory(server: String, name: String = "enrolled") async throws -> String {
            let directory = work.file(name)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let uuid = UUID().uuidString.lowercased()
            let agent = try await pki.issueAgent(hostname: "web-01", uuid: uuid)
            try PEMCodec.pem(agent.certificate).write(toFile: "\(directory)/agent.crt", atomically: true, encoding: .utf8)
            _ = FileManager.default.createFile(
                atPath: "\(directory)/agent.key", contents: Data(try agent.privateKey.serializeAsPEM().pemString.utf8),
                attributes: [.posixPermissions: 0o600])
            try PEMCodec.pemChain([pki.intermediate, pki.root]).write(toFile: "\(directory)/ca-chain.crt", atomically: true, encoding: .utf8)
            let state = AgentState(server: server, pin: rootPin, hostname: "web-01", agentID: uuid)
            try JSONEncoder().encode(state).write(to: URL(fileURLWithPath: "\(directory)/agent-state.json"))
            return directory
        }
    }

    static func expectRefusedForServerAuth(_ result: ExternalTool.Result, _ what: String) {
        #expect(!result.succeeded, "\(what) must fail against the impostor: \(result.output)")
        #expect(result.stderr.contains("serverAuth"), "\(what) must name the missing serverAuth: \(result.output)")
        #expect(result.stderr.contains("nothing was sent"), "\(what): \(result.output)")
        #expect(result.stderr.contains("localhost"), "\(what) must name the refused server: \(result.output)")
    }

    @Test("agent enroll refuses an agent certificate presented as the server and sends it nothing — no request, no token")
    func enrollRefusesImpostor() async throws {
        let attack = try await Attack.start()
        defer { attack.stop() }
        let tokenFile = attack.work.file("token")
        let token = "rkt_" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: tokenFile, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        let result = try await ProductBinary.tool("agent").runAsync(
            [
                "enroll", "--server", attack.impostor.url(host: "localhost"), "--pin", attack.rootPin, "--hostname", "web-01",
                "--token-file", tokenFile, "--out", attack.work.file("agent-out"),
            ], timeout: 60)
        Self.expectRefusedForServerAuth(result, "agent enroll")
        #expect(result.stderr.contains("clientAuth"), "the refusal says what the certificate is instead: \(result.output)")
        attack.impostor.waitForConnections(1)
        // The agent did reach the impostor (so the refusal is the agent's, not a connection failure) …
        #expect(attack.impostor.connectionCount >= 1, "\(attack.impostor.events)")
        // … and the impostor got no HTTP byte, so neither the CSR nor the token.
        #expect(attack.impostor.completedHandshakes == 0, "\(attack.impostor.events)")
        #expect(attack.impostor.receivedBytes.isEmpty, "the impostor received: \(String(decoding: attack.impostor.receivedBytes, as: UTF8.self))")
        #expect(!result.output.contains(token))
    }

    @Test(
        "agent renew and agent status refuse the impostor too, and it receives zero HTTP bytes; a real server certificate in its place does receive the request"
    )
    func renewAndStatusRefuseImpostor() async throws {
        let attack = try await Attack.start()
        defer { attack.stop() }
        let directory = try await attack.enrolledAgentDirectory(server: attack.impostor.url(host: "localhost"))
        let agent = try ProductBinary.tool("agent")
        let renew = try await agent.runAsync(["renew", "--out", directory, "--force"], timeout: 60)
        Self.expectRefusedForServerAuth(renew, "agent renew")
        let status = try await agent.runAsync(["status", "--out", directory], timeout: 60)
        Self.expectRefusedForServerAuth(status, "agent status")
        attack.impostor.waitForConnections(2)
        #expect(attack.impostor.connectionCount >= 2, "\(attack.impostor.events)")
        #expect(attack.impostor.completedHandshakes == 0, "\(attack.impostor.events)")
        #expect(attack.impostor.receivedBytes.isEmpty, "the impostor received: \(String(decoding: attack.impostor.receivedBytes, as: UTF8.self))")

        // Control: the same recorder with the appliance profile's serverAuth certificate. The agent
        // trusts it and sends its request, which the recorder sees — so an empty record above is
        // the agent's refusal, not a recorder that never records.
        let server = try await attack.pki.issueServer(fqdn: "localhost")
        let genuine = try RecordingTLSServer(chain: [server.certificate, attack.pki.intermediate, attack.pki.root], key: server.privateKey)
        defer { genuine.stop() }
        let controlDirectory = try await attack.enrolledAgentDirectory(server: genuine.url(host: "localhost"), name: "control")
        let control = try await agent.runAsync(["status", "--out", controlDirectory], timeout: 60)
        #expect(!control.succeeded && control.stderr.contains("refused the status request (HTTP 503)"), "\(control.output)")
        genuine.waitForConnections(1)
        #expect(String(decoding: genuine.receivedBytes, as: UTF8.self).hasPrefix("GET /api/v1/agent/status HTTP/1.1"))
    }
}
