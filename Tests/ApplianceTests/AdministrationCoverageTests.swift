import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing

/// Endpoints and administrator commands that no other test reached (issue 19, "Coverage gaps"),
/// each driven through the real runtime — real `IntermediateCA`, SQLite store, CRL publisher and
/// OCSP responder — and checked by what an outside tool sees, not by our own parser.
@Suite("Real runtime: csrattrs, OCSP by GET, agents reject, certs expiring, crl generate", .serialized)
struct AdministrationCoverageTests {
    @Test("GET /.well-known/est/csrattrs answers RFC 7030 §4.5.2 base64 DER that openssl parses")
    func csrAttributes() async throws {
        let harness = try await RenewalHarness.make()
        defer { harness.remove() }
        let serving = try await harness.start()
        defer { Task { await serving.stop() } }
        let root = try harness.write(harness.setup.pki.root, "root.pem")
        let body = harness.directory.file("csrattrs.b64")
        let result = try await ExternalTool("curl").runAsync([
            "-sS", "--max-time", "20", "--cacert", root, "-o", body, "-D", harness.directory.file("csrattrs.headers"),
            "-w", "%{http_code}", "\(serving.httpsURL)/.well-known/est/csrattrs",
        ])
        let status = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // RFC 7030 §4.5.2: 200 with attributes, or 204/404 when the CA has none to ask for.
        if status == "200" {
            let headers = try String(contentsOfFile: harness.directory.file("csrattrs.headers"), encoding: .utf8)
            #expect(headers.lowercased().contains("content-type: application/csrattrs"), "\(headers)")
            let parsed = try await Curl.shell("openssl base64 -d -in '\(body)' | openssl asn1parse -inform DER")
            #expect(parsed.succeeded, "csrattrs is not base64 DER: \(parsed.output)")
            // The body is a SEQUENCE (CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID).
            #expect(parsed.stdout.split(separator: "\n").first?.contains("SEQUENCE") == true, "\(parsed.output)")
        } else {
            #expect(status == "204", "csrattrs answered \(status): \(result.output)")
        }
    }

    @Test("GET /ocsp/{base64} answers a signed `good` and then `revoked` that openssl verifies (RFC 6960 A.1)")
    func ocspByGET() async throws {
        let harness = try await RenewalHarness.make()
        defer { harness.remove() }
        let serving = try await harness.start()
        defer { Task { await serving.stop() } }
        let agent = try await serving.enroll("ocsp-get-01")
        let issuer = harness.state.intermediateCertificate
        let root = try harness.write(harness.setup.pki.root, "root.pem")
        let request = harness.directory.file("ocsp.req")
        let make = try await ExternalTool("openssl").runAsync(["ocsp", "-issuer", issuer, "-cert", agent.cert, "-no_nonce", "-reqout", request])
        try #require(make.succeeded, "\(make.output)")

        func status() async throws -> String {
            // Standard base64, then percent-encoded as RFC 6960 A.1 requires for '+', '/' and '='.
            let der = try Data(contentsOf: URL(fileURLWithPath: request))
            let encoded = der.base64EncodedString()
                .replacingOccurrences(of: "+", with: "%2B").replacingOccurrences(of: "/", with: "%2F")
                .replacingOccurrences(of: "=", with: "%3D")
            let response = harness.directory.file("ocsp-\(UUID().uuidString).der")
            let fetched = try await ExternalTool("curl").runAsync([
                "-sS", "--max-time", "20", "-o", response, "-w", "%{http_code} %{content_type}",
                "\(serving.httpURL)/ocsp/\(encoded)",
            ])
            #expect(fetched.stdout == "200 application/ocsp-response", "\(fetched.output)")
            let check = try await ExternalTool("openssl").runAsync([
                "ocsp", "-respin", response, "-issuer", issuer, "-cert", agent.cert,
                "-CAfile", root, "-verify_other", issuer,
            ])
            #expect(check.output.contains("Response verify OK"), "\(check.output)")
            return check.stdout
        }
        #expect(try await status().contains(": good"))
        let revoke = try await ExternalTool(ProductBinary.path("appliance")).runAsync([
            "certs", "revoke", Hex.encode(agent.certificate.serialNumber.bytes),
            "--reason", "keyCompromise", "--state-dir", harness.state.root.path,
        ])
        try #require(revoke.succeeded, "\(revoke.output)")
        let after = try await status()
        #expect(after.contains(": revoked") && after.contains("Reason: keyCompromise"), "\(after)")
    }

    @Test("agents reject through admin.sock ends a pending registration; the agent is told, and it is audited")
    func rejectPending() async throws {
        let harness = try await RenewalHarness.make()
        defer { harness.remove() }
        let serving = try await harness.start()
        defer { Task { await serving.stop() } }
        let request = try CAHarness.agentCSR(hostname: "reject-01")
        let outcome = try await serving.runtime.ca.enroll(csrDER: request.der, token: nil, source: "127.0.0.1")
        guard case .pending = outcome else {
            Issue.record("expected pending, got \(outcome)")
            return
        }

        let appliance = ProductBinary.path("appliance")
        let state = harness.state.root.path
        let unknown = try await ExternalTool(appliance).runAsync(["agents", "reject", UUID().uuidString.lowercased(), "--state-dir", state])
        #expect(!unknown.succeeded && unknown.stderr.contains("no pending registration"), "\(unknown.output)")
        let reject = try await ExternalTool(appliance).runAsync([
            "agents", "reject", request.uuid, "--reason", "not one of ours", "--state-dir", state,
        ])
        #expect(reject.succeeded, "\(reject.output)")
        let list = try await ExternalTool(appliance).runAsync(["agents", "list", "--state-dir", state])
        try #require(list.succeeded, "\(list.output)")
        #expect(!list.stdout.contains("\(request.uuid) pending"), "\(list.stdout)")

        // The same agent asking again is told it was rejected, with the administrator's reason.
        let again = try await serving.runtime.ca.enroll(csrDER: request.der, token: nil, source: "127.0.0.1")
        guard case .rejected(let reason) = again else {
            Issue.record("a rejected registration must stay rejected, got \(again)")
            return
        }
        #expect(reason.contains("rejected by an administrator: not one of ours"), "\(reason)")
        let audit = try await ExternalTool(appliance).runAsync(["audit", "verify", "--state-dir", state])
        #expect(audit.succeeded, "\(audit.output)")
    }

    @Test("certs expiring lists exactly the certificates inside the window; crl generate publishes a new CRL number")
    func expiringAndGenerate() async throws {
        let harness = try await RenewalHarness.make()
        defer { harness.remove() }
        let serving = try await harness.start()
        defer { Task { await serving.stop() } }
        let agent = try await serving.enroll("expiring-01")
        let appliance = ProductBinary.path("appliance")
        let state = harness.state.root.path
        let serial = Hex.encode(agent.certificate.serialNumber.bytes)

        // Agent certificates are issued for the configured validity (90 days by default):
        // inside a 100-day window, outside a 10-day one.
        let wide = try await ExternalTool(appliance).runAsync(["certs", "expiring", "--days", "100", "--state-dir", state])
        try #require(wide.succeeded, "\(wide.output)")
        #expect(wide.stdout.lowercased().contains(serial.lowercased()), "\(wide.stdout)")
        let narrow = try await ExternalTool(appliance).runAsync(["certs", "expiring", "--days", "10", "--state-dir", state])
        try #require(narrow.succeeded, "\(narrow.output)")
        #expect(!narrow.stdout.lowercased().contains(serial.lowercased()), "\(narrow.stdout)")

        func crlNumber() async throws -> Int {
            let file = harness.directory.file("crl-\(UUID().uuidString).der")
            #expect(try await serving.download("/crl/intermediate.crl", to: file) == 200)
            let text = try await ExternalTool("openssl").runAsync(["crl", "-inform", "DER", "-in", file, "-noout", "-crlnumber"])
            let value =
                text.stdout.split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }?
                .replacingOccurrences(of: "0x", with: "") ?? ""
            return try #require(Int(value, radix: 16), "\(text.output)")
        }
        let before = try await crlNumber()
        let generate = try await ExternalTool(appliance).runAsync(["crl", "generate", "--state-dir", state])
        #expect(generate.succeeded && generate.stdout.contains("CRL"), "\(generate.output)")
        #expect(try await crlNumber() > before)
    }
}
