import ApplianceKit
import Foundation
import TestSupport
import Testing

@Suite("The plain HTTP listener: CRLs, OCSP, CA chain, health and metrics")
struct HTTPListenerTests {
    @Test("CRL, chain, health and metrics routes answer with the right types and content")
    func publicRoutes() async throws {
        try await RunningAppliance.with { app in
            let crl = try await Curl.run(["\(app.httpURL)/crl/intermediate.crl"])
            #expect(crl.status == 200, "\(crl.raw.output)")
            #expect(crl.headers["content-type"] == "application/pkix-crl")
            #expect(crl.body == "crl-intermediate")
            let missing = try await Curl.run(["\(app.httpURL)/crl/root.crl"])
            #expect(missing.status == 404)
            let chain = try await Curl.run(["\(app.httpURL)/ca/chain.pem"])
            #expect(chain.status == 200)
            let chainFile = app.directory.file("served-chain.pem")
            try chain.body.write(toFile: chainFile, atomically: true, encoding: .utf8)
            let parsed = try await ExternalTool("openssl").runAsync(["x509", "-in", chainFile, "-noout", "-subject"])
            #expect(parsed.stdout.contains("Test Intermediate CA"))
            let health = try await Curl.run(["\(app.httpURL)/health"])
            #expect(health.body == "ok\n")
            let metrics = try await Curl.run(["\(app.httpURL)/metrics"])
            for name in [
                "rootkeeper_certificates_issued_total", "rootkeeper_certificate_validation_duration_seconds", "rootkeeper_ocsp_responses_total",
                "rootkeeper_crl_age_seconds",
            ] {
                #expect(metrics.body.contains("# TYPE \(name)"), "missing \(name)")
            }
        }
    }

    @Test("a request that asks for Connection: close is answered with Connection: close (RFC 9112 §9.6), a kept-alive one is not")
    func connectionCloseAnnounced() async throws {
        try await RunningAppliance.with { app in
            let closing = try await Curl.run(["-H", "Connection: close", "\(app.httpURL)/health"])
            #expect(closing.status == 200)
            #expect(closing.headers["connection"] == "close", "\(closing.raw.output)")
            let kept = try await Curl.run(["\(app.httpURL)/health"])
            #expect(kept.status == 200)
            #expect(kept.headers["connection"] == nil, "\(kept.raw.output)")
        }
    }

    @Test("OCSP is answered by the responder for POST, and a bad GET path gets 400")
    func ocsp() async throws {
        try await RunningAppliance.with { app in
            let request = app.directory.file("ocsp.der")
            try Data([0x30, 0x00]).write(to: URL(fileURLWithPath: request))
            let post = try await Curl.run(["-H", "Content-Type: application/ocsp-request", "--data-binary", "@\(request)", "\(app.httpURL)/ocsp"])
            #expect(post.status == 200)
            #expect(post.headers["content-type"] == "application/ocsp-response")
            let bad = try await Curl.run(["\(app.httpURL)/ocsp/%%%not-base64"])
            #expect(bad.status == 400)
        }
    }

    @Test("/health answers 503 with the reason while a publisher is degraded")
    func degradedHealth() async throws {
        try await RunningAppliance.with(health: { .degraded(reason: "crl/ is not writable; CRL 7 stays served") }) { app in
            let health = try await Curl.run(["\(app.httpURL)/health"])
            #expect(health.status == 503)
            #expect(health.body.contains("crl/ is not writable"))
        }
    }
}
