import ApplianceKit
import Foundation
import TestSupport
import Testing

/// Issue #12 part 8: an issuance is counted once, where the CA signs, not again by the HTTP layer.
@Suite("Issuance metrics against the real serve (curl EST, /metrics)", .serialized)
struct IssuanceMetricsTests {
    @Test(
        "after N EST enrolments rootkeeper_certificates_issued_total{certificate_type=agent} rises by exactly N; a renewal counts once as issued and once as renewed"
    )
    func countedOnce() async throws {
        let (h, serve, _) = try await RevocationReasonTests.served()
        defer {
            serve.stop()
            h.remove()
        }
        let root = h.directory.file("root.pem")
        let series = "rootkeeper_certificates_issued_total{certificate_type=\"agent\"}"
        let before = try await serve.metric(series) ?? 0
        let enrolments = 3
        for index in 0..<enrolments { _ = try await serve.enrollWithCurl("counted-\(index)", in: h.directory, root: root) }
        let after = try await serve.metric(series) ?? 0
        #expect(after - before == Double(enrolments), "issued_total went from \(before) to \(after) for \(enrolments) enrolments")
        // A renewal is an issuance too, counted once as issued and once as renewed.
        let renewedBefore = try await serve.metric("rootkeeper_certificates_renewed_total") ?? 0
        let agent = try await serve.enrollWithCurl("renewing", in: h.directory, root: root)
        let csr = try await opensslCSR(in: h.directory, name: "renewing-2", commonName: try Self.commonName(agent.cert))
        let renewal = try await ExternalTool("curl").runAsync([
            "-sS", "--max-time", "20", "--cacert", root, "--cert", agent.cert, "--key", agent.key, "-H", "Content-Type: application/pkcs10",
            "--data-binary", "@\(csr.b64)", "-o", "/dev/null", "-w", "%{http_code}", "\(serve.httpsURL)/.well-known/est/simplereenroll",
        ])
        #expect(renewal.stdout == "200", "\(renewal.output)")
        #expect(try await serve.metric(series) ?? 0 == after + 2)
        #expect(try await serve.metric("rootkeeper_certificates_renewed_total") ?? 0 == renewedBefore + 1)
    }

    /// The agent's identity as a (legacy, still accepted) CSR common name `agent-{hostname}-{uuid}`:
    /// the identity lives in the certificate's SANs (docs/identity.md), and an openssl CSR made
    /// with `-subj` alone carries no SANs.
    static func commonName(_ cert: String) throws -> String {
        let san = try ExternalTool("openssl").run(["x509", "-in", cert, "-noout", "-ext", "subjectAltName"]).stdout
        guard let dns = san.firstMatch(of: /DNS:([^,\s]+)/)?.1, let uuid = san.firstMatch(of: /URI:urn:uuid:([0-9a-f-]{36})/)?.1 else {
            throw TestFailure("no agent identity in the SANs: \(san)")
        }
        return "agent-\(dns)-\(uuid)"
    }
}
