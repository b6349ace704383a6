import ApplianceKit
import Foundation
import TestSupport
import Testing

@Suite("mTLS on the HTTPS listener, checked with curl and openssl s_client")
struct MutualTLSTests {
    @Test("the agent status route answers a registered agent certificate with JSON and refuses no certificate with 401")
    func statusNeedsClientCertificate() async throws {
        try await RunningAppliance.with { app in
            let agent = try await app.agentFiles(hostname: "web01")
            let url = "\(app.httpsURL)/api/v1/agent/status"
            let ok = try await Curl.run(["--cacert", app.chainFile, "--cert", agent.cert, "--key", agent.key, url])
            #expect(ok.status == 200, "\(ok.raw.output)")
            #expect(ok.body.contains("\"hostname\":\"web01\""))
            let anonymous = try await Curl.run(["--cacert", app.chainFile, url])
            #expect(anonymous.status == 401)
            #expect(anonymous.body.contains("client certificate is required"))
            let failures = try await Curl.run(["\(app.httpURL)/metrics"])
            #expect(failures.body.contains("rootkeeper_certificate_validation_failures_total{reason=\"no_certificate\"} 1"))
        }
    }

    @Test("a client certificate from another CA does not complete the handshake")
    func foreignClientCertificate() async throws {
        try await RunningAppliance.with { app in
            let foreign = try await TestPKI.make(rootAlgorithm: .p256)
            let credentials = try await foreign.agentCredentials(hostname: "intruder")
            let cert = app.directory.file("foreign.crt")
            let key = app.directory.file("foreign.key")
            try credentials.certificate.pem.write(toFile: cert, atomically: true, encoding: .utf8)
            try credentials.keyPEM.write(toFile: key, atomically: true, encoding: .utf8)
            let result = try await Curl.run(["--cacert", app.chainFile, "--cert", cert, "--key", key, "\(app.httpsURL)/api/v1/agent/status"])
            // Refused in the handshake (curl 56: no HTTP status at all), and counted as an
            // untrusted chain rather than any other failure.
            #expect(result.status == 0 && result.raw.status == 56 && result.raw.stderr.contains("alert certificate unknown"), "\(result.raw.output)")
            #expect(try await Self.validationFailures(app, reason: "untrusted_chain") == 1)
        }
    }

    @Test("a revoked certificate gets 403, also on a keep-alive connection that was already open")
    func revokedOnOpenConnection() async throws {
        try await RunningAppliance.with { app in
            let agent = try await app.agentFiles(hostname: "web02")
            let url = "\(app.httpsURL)/api/v1/agent/status"
            // Two transfers on one connection, 3 s apart (--rate 20/m); revoke in between.
            let arguments = [
                "-sS", "--max-time", "30", "--cacert", app.chainFile, "--cert", agent.cert, "--key", agent.key,
                "--rate", "20/m", "-o", "/dev/null", "-o", "/dev/null",
                "-w", "%{http_code} %{num_connects}\\n", url, url,
            ]
            let curl = Task { try await ExternalTool("curl").runAsync(arguments, timeout: 60) }
            // Revoke once the first request has been answered (the 3 s gap leaves ample time).
            for _ in 0..<200 where app.ca.statusCalls == 0 { try await Task.sleep(for: .milliseconds(25)) }
            app.ca.revoke(agent.certificate)
            let result = try await curl.value
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines == ["200 1", "403 0"], "\(result.output)")
            // And a new connection with the revoked certificate no longer completes a handshake.
            let revokedBefore = try await Self.validationFailures(app, reason: "revoked")
            let fresh = try await Curl.run(["--cacert", app.chainFile, "--cert", agent.cert, "--key", agent.key, url])
            #expect(fresh.status == 0 && fresh.raw.status == 56 && fresh.raw.stderr.contains("alert certificate unknown"), "\(fresh.raw.output)")
            #expect(
                try await Self.validationFailures(app, reason: "revoked") == revokedBefore + 1, "the handshake must fail because of the revocation")
        }
    }

    @Test("an idle connection authenticated by a certificate is closed within a second of its revocation")
    func revocationClosesOpenConnection() async throws {
        try await RunningAppliance.with { app in
            let agent = try await app.agentFiles(hostname: "web03")
            let serial = agent.certificate.serialNumber.bytes.map { String(format: "%02x", $0) }.joined()
            // s_client with -ign_eof keeps the connection open, idle, until the server closes it.
            let client = try ExternalTool("openssl").start([
                "s_client", "-connect", "127.0.0.1:\(app.httpsPort)", "-CAfile", app.chainFile,
                "-cert", agent.cert, "-key", agent.key, "-ign_eof", "-tls1_2",
            ])
            defer { client.stop(signal: SIGKILL) }
            var registered = false
            for _ in 0..<100 {
                if app.connections.openConnections(serial: serial) == 1 {
                    registered = true
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            try #require(registered, "the handshake did not register the connection: \(client.output)")
            #expect(client.isRunning)

            app.ca.revoke(agent.certificate)
            await app.coordinator.revocationOccurred(serials: [serial])
            var closed = false
            for _ in 0..<20 {  // 1 s
                if !client.isRunning {
                    closed = true
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(closed, "the connection was still open a second after the revocation: \(client.output)")
            #expect(app.connections.openConnections(serial: serial) == 0)
        }
    }

    @Test("TLS 1.1 and CBC cipher suites are refused while TLS 1.2 with ECDHE-GCM works")
    func protocolPolicy() async throws {
        try await RunningAppliance.with { app in
            let target = "127.0.0.1:\(app.httpsPort)"
            // SECLEVEL=0 lets the *client* offer TLS 1.1, so a refusal comes from our server.
            let old = try await ExternalTool("openssl").runAsync(
                ["s_client", "-connect", target, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", app.chainFile], stdin: Data())
            #expect(!old.succeeded)
            #expect(old.output.contains("alert protocol version"), "\(old.output)")
            #expect(old.output.contains("Cipher is (NONE)"))
            let cbc = try await ExternalTool("openssl").runAsync(
                ["s_client", "-connect", target, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA", "-CAfile", app.chainFile], stdin: Data())
            #expect(!cbc.succeeded)
            #expect(cbc.output.contains("alert handshake failure") && cbc.output.contains("Cipher is (NONE)"), "\(cbc.output)")
            let good = try await ExternalTool("openssl").runAsync(
                ["s_client", "-connect", target, "-tls1_2", "-CAfile", app.chainFile], stdin: Data())
            #expect(good.succeeded, "\(good.output)")
            #expect(good.output.contains("ECDHE-ECDSA-AES"))
            #expect(good.output.contains("GCM") || good.output.contains("CHACHA20"))
            #expect(good.output.contains("Verify return code: 0 (ok)"))
        }
    }

    @Test("after rotation a new handshake is served the new server certificate without a restart")
    func serverCertificateRotation() async throws {
        try await RunningAppliance.with { app in
            let target = "127.0.0.1:\(app.httpsPort)"
            let before = try await ExternalTool("openssl").runAsync(["s_client", "-connect", target, "-CAfile", app.chainFile], stdin: Data())
            #expect(before.output.contains("appliance-one.test"))
            let next = try await app.pki.serverCredentials(commonName: "appliance-two.test")
            try app.holder.rotate(chainPEM: next.chainPEM, keyPEM: next.keyPEM)
            let after = try await ExternalTool("openssl").runAsync(["s_client", "-connect", target, "-CAfile", app.chainFile], stdin: Data())
            #expect(after.output.contains("appliance-two.test"))
            #expect(!after.output.contains("appliance-one.test"))
            #expect(after.output.contains("Verify return code: 0 (ok)"))
        }
    }

    @Test("simplereenroll issues for the same agent and refuses a CSR for another identity or without a certificate")
    func reenroll() async throws {
        try await RunningAppliance.with { app in
            let agent = try await app.agentFiles(hostname: "web03")
            guard let identity = AgentSubject(certificate: agent.certificate) else {
                Issue.record("agent certificate has no agent subject")
                return
            }
            let url = "\(app.httpsURL)/.well-known/est/simplereenroll"
            let same = try await opensslCSR(in: app.directory, name: "renew", commonName: identity.commonName)
            let renewed = try await Curl.run([
                "--cacert", app.chainFile, "--cert", agent.cert, "--key", agent.key, "-H", "Content-Type: application/pkcs10", "--data-binary",
                "@\(same.b64)", url,
            ])
            #expect(renewed.status == 200, "\(renewed.body)")
            let other = try await opensslCSR(in: app.directory, name: "other", commonName: "agent-web04-\(UUID().uuidString.lowercased())")
            let stolen = try await Curl.run([
                "--cacert", app.chainFile, "--cert", agent.cert, "--key", agent.key, "-H", "Content-Type: application/pkcs10", "--data-binary",
                "@\(other.b64)", url,
            ])
            #expect(stolen.status == 403)
            let anonymous = try await Curl.run([
                "--cacert", app.chainFile, "-H", "Content-Type: application/pkcs10", "--data-binary", "@\(same.b64)", url,
            ])
            #expect(anonymous.status == 401)
        }
    }

    /// `rootkeeper_certificate_validation_failures_total{reason=…}` from /metrics (0 when absent).
    static func validationFailures(_ app: RunningAppliance, reason: String) async throws -> Int {
        let metrics = try await Curl.run(["\(app.httpURL)/metrics"])
        let prefix = "rootkeeper_certificate_validation_failures_total{reason=\"\(reason)\"} "
        guard let line = metrics.body.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return 0 }
        return Int(Double(line.dropFirst(prefix.count)) ?? -1)
    }
}
