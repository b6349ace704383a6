import Foundation
import TestSupport
import Testing

/// RFC 7030 §4.2.1: an EST enrolment body is `application/pkcs10`. The real `appliance serve`
/// refuses any other declared type with 415 and says what to send, before it reads the body or
/// spends the token, so the same request with the right header still succeeds.
@Suite("EST requests must be application/pkcs10 (real serve, curl)", .serialized)
struct ESTContentTypeTests {
    @Test("simpleenroll without Content-Type or with text/plain gets 415 naming application/pkcs10; the token is still good afterwards")
    func wrongMediaTypeIsRefused() async throws {
        try await ApplianceProcess.with { app in
            let token = try app.requireToken(hostname: "media-01")
            let csr = app.directory.file("media.b64")
            try Data(try ApplianceProcess.agentCSR(hostname: "media-01")).base64EncodedString(options: .lineLength64Characters)
                .write(toFile: csr, atomically: true, encoding: .utf8)
            let url = "https://127.0.0.1:\(app.https)/.well-known/est/simpleenroll"
            func post(_ contentType: [String]) throws -> (status: String, body: String) {
                let reply = app.directory.file("reply-\(UUID().uuidString)")
                // The token travels in a header read from stdin, never in argv.
                let result = try ExternalTool("curl").run(
                    ["-sS", "-o", reply, "-w", "%{http_code}", "--cacert", app.chain, "-H", "@-"] + contentType + ["--data-binary", "@\(csr)", url],
                    stdin: Data("Authorization: Bearer \(token)\n".utf8))
                return (result.stdout, (try? String(contentsOfFile: reply, encoding: .utf8)) ?? "")
            }
            // curl's default for --data-binary is application/x-www-form-urlencoded.
            let formEncoded = try post([])
            #expect(formEncoded.status == "415", "\(formEncoded)")
            #expect(formEncoded.body.contains("application/x-www-form-urlencoded is not application/pkcs10"), "\(formEncoded.body)")
            #expect(formEncoded.body.contains("RFC 7030 §4.2.1") && formEncoded.body.contains("-H 'Content-Type: application/pkcs10'"))
            let plain = try post(["-H", "Content-Type: text/plain"])
            #expect(plain.status == "415", "\(plain)")
            let empty = try post(["-H", "Content-Type;"])
            #expect(empty.status == "415", "\(empty)")
            #expect(empty.body.contains("has no Content-Type"), "\(empty.body)")
            #expect(try app.sql("SELECT COUNT(*) FROM certificates WHERE type = 'agent'").trimmingCharacters(in: .whitespacesAndNewlines) == "0")

            // Parameters and case do not matter (RFC 9110 §8.3.1); the refused requests spent nothing.
            let accepted = try post(["-H", "Content-Type: Application/PKCS10; charset=us-ascii"])
            #expect(accepted.status == "200", "\(accepted)")
        }
    }

    @Test("simplereenroll over mTLS with the wrong Content-Type gets 415 too, and nothing is issued")
    func renewalWrongMediaType() async throws {
        try await ApplianceProcess.with { app in
            let out = try await AgentRenewalWindowTests.enrolledAgent(app, hostname: "media-02")
            let csr = app.directory.file("renew.b64")
            try Data(try ApplianceProcess.agentCSR(hostname: "media-02")).base64EncodedString().write(toFile: csr, atomically: true, encoding: .utf8)
            let reply = app.directory.file("renew.reply")
            let result = try ExternalTool("curl").run(
                [
                    "-sS", "-o", reply, "-w", "%{http_code}", "--cacert", app.chain, "--cert", "\(out)/agent.crt", "--key", "\(out)/agent.key",
                    "-H", "Content-Type: text/plain", "--data-binary", "@\(csr)", "https://127.0.0.1:\(app.https)/.well-known/est/simplereenroll",
                ])
            #expect(result.stdout == "415", "\(result.output)")
            #expect((try? String(contentsOfFile: reply, encoding: .utf8))?.contains("Content-Type text/plain is not application/pkcs10") == true)
            #expect(try app.sql("SELECT COUNT(*) FROM certificates WHERE type = 'agent'").trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        }
    }
}
