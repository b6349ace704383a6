import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing

/// Issue #12 part 6: one typed word must not stop revocation publishing. Against the real
/// `appliance serve`, its admin CLI, sqlite3, curl and openssl.
@Suite("Revocation reasons a full CRL cannot carry (real serve, admin CLI, sqlite3, openssl)", .serialized)
struct RevocationReasonTests {
    /// A freshly installed appliance served by the real binary, and its intermediate's ID.
    static func served() async throws -> (RenewalHarness, ApplianceProcess, String) {
        let h = try await RenewalHarness.make()
        do {
            // Fresh 90-day agent certificates are inside the renewal window at once.
            let serve = try ApplianceProcess(
                state: h.state.root.path, work: h.directory, passphrase: "correct horse battery staple",
                extraConfiguration: "  renew_before_days: 90\n")
            let id = try IssuerRoster.ski(try IntermediateKeyLoader.loadCertificates(h.state).intermediate)
            return (h, serve, id)
        } catch {
            h.remove()
            throw error
        }
    }

    @Test(
        "certs revoke --reason removeFromCRL / certificateHold is refused with a clear message by the CLI and by the appliance; the help lists only accepted reasons; nothing is revoked and CRLs keep publishing"
    )
    func refusedReasons() async throws {
        let (h, serve, _) = try await Self.served()
        defer {
            serve.stop()
            h.remove()
        }
        let root = h.directory.file("root.pem")
        let agent = try await serve.enrollWithCurl("web-01", in: h.directory, root: root)
        let serial = try ApplianceProcess.serial(of: agent.cert)

        let removal = try await serve.admin(["certs", "revoke", serial, "--reason", "removeFromCRL"])
        #expect(!removal.succeeded)
        #expect(removal.stderr.contains("removeFromCRL is refused") && removal.stderr.contains("delta CRLs"), "\(removal.output)")
        let hold = try await serve.admin(["certs", "revoke", serial, "--reason", "certificateHold"])
        #expect(!hold.succeeded && hold.stderr.contains("certificateHold is refused"), "\(hold.output)")
        // The appliance refuses too, whatever client sends the request (the admin socket API).
        let raw = try AdminClient(socketPath: StateDirectory(path: serve.stateRoot).adminSocket)
            .send(AdminRequest(command: "certs.revoke", arguments: ["serial": serial, "reason": "remove-from-crl"]))
        #expect(!raw.ok && (raw.error ?? "").contains("removeFromCRL is refused"), "\(raw)")
        let agentRevoke = try AdminClient(socketPath: StateDirectory(path: serve.stateRoot).adminSocket)
            .send(AdminRequest(command: "agents.revoke", arguments: ["id": UUID().uuidString, "reason": "certificateHold"]))
        #expect(!agentRevoke.ok && (agentRevoke.error ?? "").contains("certificateHold is refused"), "\(agentRevoke)")

        let help = try await ExternalTool(ProductBinary.path("appliance")).runAsync(["certs", "revoke", "--help"])
        #expect(
            help.stdout.contains("keyCompromise") && !help.stdout.contains("removeFromCRL") && !help.stdout.contains("certificateHold"),
            "\(help.output)")

        // Nothing was recorded: still good, and a real revocation still works and publishes.
        let show = try await serve.admin(["certs", "show", serial])
        #expect(!show.stdout.contains("revoked"), "\(show.output)")
        let revoke = try await serve.admin(["certs", "revoke", serial, "--reason", "keyCompromise"])
        #expect(revoke.succeeded && revoke.stdout.contains("reason=keyCompromise"), "\(revoke.output)")
        let generate = try await serve.admin(["crl", "generate"])
        #expect(generate.succeeded, "\(generate.output)")
        let health = try await Curl.run(["\(serve.httpURL)/health"])
        #expect(health.status == 200 && health.body == "ok\n", "\(health.body)")
    }

    @Test(
        "a store row with reason removeFromCRL (written with sqlite3) does not stop the CRL: it is published (openssl crl), still lists that certificate, and the row is reported in /health, /metrics and the log"
    )
    func badStoredReasonIsReportedNotBlocking() async throws {
        let (h, serve, id) = try await Self.served()
        defer {
            serve.stop()
            h.remove()
        }
        let root = h.directory.file("root.pem")
        let tampered = try await serve.enrollWithCurl("web-01", in: h.directory, root: root)
        let other = try await serve.enrollWithCurl("web-02", in: h.directory, root: root)
        let tamperedSerial = try ApplianceProcess.serial(of: tampered.cert)
        let otherSerial = try ApplianceProcess.serial(of: other.cert)
        for serial in [tamperedSerial, otherSerial] {
            let revoke = try await serve.admin(["certs", "revoke", serial, "--reason", "keyCompromise"])
            try #require(revoke.succeeded, "\(revoke.output)")
        }
        // What an older appliance accepted (or a hand edit): reason code 8, removeFromCRL.
        let database = h.state.path("db", "rootkeeper.sqlite")
        let sql = "UPDATE revocations SET reason = 8 WHERE serial = '\(tamperedSerial)'; SELECT changes();"
        let update =
            geteuid() == 0
            ? try await ExternalTool("runuser").runAsync(["-u", "nobody", "--", "sqlite3", "-cmd", ".timeout 5000", database, sql])
            : try await ExternalTool("sqlite3").runAsync(["-cmd", ".timeout 5000", database, sql])
        try #require(update.succeeded && update.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(update.output)")

        let generate = try await serve.admin(["crl", "generate"])
        #expect(generate.succeeded, "crl generate must not fail on one bad row: \(generate.output)")
        let der = h.directory.file("intermediate.crl")
        let fetched = try await ExternalTool("curl").runAsync(["-sS", "-f", "--max-time", "20", "-o", der, "\(serve.httpURL)/crl/intermediate.crl"])
        try #require(fetched.succeeded, "\(fetched.output)")
        let text = try await ExternalTool("openssl").runAsync(["crl", "-inform", "DER", "-in", der, "-CAfile", h.state.caChain, "-noout", "-text"])
        #expect(text.output.contains("verify OK"), "\(text.output)")
        for serial in [tamperedSerial, otherSerial] {
            #expect(text.stdout.uppercased().contains("SERIAL NUMBER: \(serial.uppercased())"), "\(serial) must stay listed:\n\(text.stdout)")
        }
        #expect(text.stdout.contains("Key Compromise"), "the other entry keeps its reason")
        #expect(!text.stdout.contains("Remove From CRL"), "\(text.stdout)")
        // The certificate stays refused over mTLS.
        let mtls = try await ExternalTool("curl").runAsync([
            "-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", root,
            "--cert", tampered.cert, "--key", tampered.key, "\(serve.httpsURL)/api/v1/agent/status",
        ])
        #expect(mtls.stdout == "000" && mtls.stderr.contains("alert certificate unknown"), "refused in the handshake: \(mtls.output)")

        // Reported: /health names the serial (and still answers 200: the CRL is current), the
        // metric counts it, the log says why.
        let health = try await Curl.run(["\(serve.httpURL)/health"])
        #expect(health.status == 200 && health.body.contains("attention") && health.body.contains(tamperedSerial), "\(health.body)")
        #expect(try await serve.metric("rootkeeper_crl_entries_reason_omitted{issuer=\"\(id)\"}") == 1)
        #expect(try await serve.metric("rootkeeper_crl_publication_failing{issuer=\"\(id)\"}") == 0)
        #expect(serve.process.output.contains("listed on the CRL without its reason"), "\(serve.process.output)")
    }
}
