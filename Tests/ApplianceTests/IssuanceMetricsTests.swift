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
        let csr = try await opensslCSR(in: h.directory, name: "renewing-2", commonName: try ApplianceProcess.agentCommonName(agent.cert))
        let renewal = try await ExternalTool("curl").runAsync([
            "-sS", "--max-time", "20", "--cacert", root, "--cert", agent.cert, "--key", agent.key, "-H", "Content-Type: application/pkcs10",
            "--data-binary", "@\(csr.b64)", "-o", "/dev/null", "-w", "%{http_code}", "\(serve.httpsURL)/.well-known/est/simplereenroll",
        ])
        #expect(renewal.stdout == "200", "\(renewal.output)")
        #expect(try await serve.metric(series) ?? 0 == after + 2)
        #expect(try await serve.metric("rootkeeper_certificates_renewed_total") ?? 0 == renewedBefore + 1)
    }
}
