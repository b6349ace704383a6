import ApplianceKit
import Foundation
import TestSupport
import Testing

/// Issue #12 part 5 (resumed sessions) and issue #19: a revocation made with the admin CLI
/// against the real `appliance serve` closes the certificate's idle mTLS connections — the one
/// set up by a full handshake and the one set up by TLS 1.3 session resumption (RFC 8446 §2.2),
/// for which the server never ran certificate verification — within a bounded poll.
@Suite("Revoked certificate: idle connections closed, resumed sessions too (real serve, openssl s_client)", .serialized)
struct ResumedSessionRevocationTests {
    @Test(
        "appliance certs revoke closes an idle fresh connection and an idle resumed (-sess_in) connection of that certificate within 3 s; another agent's stays open"
    )
    func resumedSessionClosed() async throws {
        let (h, serve, _) = try await RevocationReasonTests.served()
        defer {
            ProcessReaper.terminate(commandLineContaining: h.directory.path)
            serve.stop()
            h.remove()
        }
        let root = h.directory.file("root.pem")
        let openssl = try ExternalTool("openssl")
        let revoked = try await serve.enrollWithCurl("idle-01", in: h.directory, root: root)
        let bystander = try await serve.enrollWithCurl("idle-02", in: h.directory, root: root)
        let session = h.directory.file("idle-01.session")

        func connect(_ agent: (cert: String, key: String), _ extra: [String]) throws -> ExternalTool.Running {
            // -ign_eof: stdin is /dev/null, the connection stays open and idle until the server closes it.
            try openssl.start(
                [
                    "s_client", "-connect", "127.0.0.1:\(serve.https)", "-tls1_3", "-CAfile", root,
                    "-cert", agent.cert, "-key", agent.key, "-ign_eof",
                ] + extra)
        }
        // One request on a full handshake: the server's TLS 1.3 session ticket travels with its
        // answer and s_client writes the session to `session`.
        let ticket = try await Curl.shell(
            "(printf 'GET /api/v1/agent/status HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n'; sleep 2) | openssl s_client -connect 127.0.0.1:\(serve.https) -tls1_3 -CAfile '\(root)' -cert '\(revoked.cert)' -key '\(revoked.key)' -sess_out '\(session)'"
        )
        try #require(FileManager.default.fileExists(atPath: session), "no session ticket: \(ticket.output)")
        // An idle connection of the same certificate set up by a full handshake.
        let fresh = try connect(revoked, [])
        defer { fresh.stop() }
        #expect(fresh.waitForOutput("Verify return code: 0", timeout: 20), "\(fresh.output)")
        // The same certificate's session resumed: no certificate is sent or verified this time.
        let resumed = try connect(revoked, ["-sess_in", session])
        defer { resumed.stop() }
        #expect(resumed.waitForOutput("Reused, TLSv1.3", timeout: 20), "the session was not resumed: \(resumed.output)")
        let other = try connect(bystander, [])
        defer { other.stop() }
        #expect(other.waitForOutput("Verify return code: 0", timeout: 20), "\(other.output)")
        // Idle for longer than a request would take: all three are open.
        usleep(500_000)
        #expect(fresh.isRunning && resumed.isRunning && other.isRunning)

        let revoke = try await serve.admin(["certs", "revoke", try ApplianceProcess.serial(of: revoked.cert), "--reason", "keyCompromise"])
        try #require(revoke.succeeded, "\(revoke.output)")
        let started = Date()
        while (fresh.isRunning || resumed.isRunning) && Date().timeIntervalSince(started) < 3 { usleep(50_000) }
        #expect(!fresh.isRunning, "the fresh idle connection stayed open \(Date().timeIntervalSince(started)) s after the revocation")
        #expect(!resumed.isRunning, "the resumed idle connection stayed open \(Date().timeIntervalSince(started)) s after the revocation")
        #expect(other.isRunning, "another agent's connection must stay open: \(other.output)")

        // Resuming the revoked certificate's session again is closed at once as well.
        let again = try connect(revoked, ["-sess_in", session])
        defer { again.stop() }
        let retried = Date()
        while again.isRunning && Date().timeIntervalSince(retried) < 3 { usleep(50_000) }
        #expect(!again.isRunning, "a new resumption of a revoked certificate's session stayed open: \(again.output)")
    }
}
