import ApplianceKit
import Foundation
import TestSupport
import Testing

@Suite("EST over HTTPS, driven by curl and openssl")
struct ESTEnrollmentTests {
    @Test("cacerts returns base64 PKCS#7 certs-only that openssl lists as our intermediate and root")
    func caCertificates() async throws {
        try await RunningAppliance.with { app in
            let response = try await Curl.run(["--cacert", app.chainFile, "\(app.httpsURL)/.well-known/est/cacerts"])
            #expect(response.status == 200)
            #expect(response.headers["content-type"]?.contains("application/pkcs7-mime") == true)
            #expect(response.headers["content-transfer-encoding"] == "base64")
            let body = app.directory.file("cacerts.b64")
            try response.body.write(toFile: body, atomically: true, encoding: .utf8)
            let printed = try await Curl.shell("openssl base64 -d -in \(body) | openssl pkcs7 -inform DER -print_certs -noout")
            #expect(printed.succeeded, "\(printed.output)")
            #expect(printed.stdout.contains("CN=Test Intermediate CA") || printed.stdout.contains("CN = Test Intermediate CA"))
            #expect(printed.stdout.contains("Test Root CA"))
        }
    }

    @Test("without a token the agent gets 202 + Retry-After until approved, then 200 with a certificate openssl reads")
    func pendingThenIssued() async throws {
        try await RunningAppliance.with { app in
            let uuid = UUID().uuidString.lowercased()
            let csr = try await opensslCSR(in: app.directory, name: "pending", commonName: "agent-web01-\(uuid)")
            let arguments = [
                "--cacert", app.chainFile, "-H", "Content-Type: application/pkcs10", "--data-binary", "@\(csr.b64)",
                "\(app.httpsURL)/.well-known/est/simpleenroll",
            ]
            let first = try await Curl.run(arguments)
            #expect(first.status == 202)
            #expect(first.headers["retry-after"] == "1")
            #expect(app.ca.issuedCount == 0)

            app.ca.approve(uuid: uuid)
            let second = try await Curl.run(arguments)
            #expect(second.status == 200)
            #expect(second.headers["content-type"] == "application/pkcs7-mime; smime-type=certs-only")
            let body = app.directory.file("issued.b64")
            try second.body.write(toFile: body, atomically: true, encoding: .utf8)
            let printed = try await Curl.shell("openssl base64 -d -in \(body) | openssl pkcs7 -inform DER -print_certs -text")
            #expect(printed.succeeded, "\(printed.output)")
            // The agent profile's names (docs/identity.md): CN is the hostname, the UUID is in the SAN.
            #expect(
                printed.stdout.contains("Subject: O=Rootkeeper Test, OU=agents, CN=web01") && printed.stdout.contains("URI:urn:uuid:\(uuid)"),
                "\(printed.stdout)")
        }
    }

    @Test("a Bearer or HTTP Basic enrolment token is accepted and a wrong one is rejected with 403 and a reason")
    func tokens() async throws {
        try await RunningAppliance.with { app in
            let url = "\(app.httpsURL)/.well-known/est/simpleenroll"
            let one = try await opensslCSR(in: app.directory, name: "one", commonName: "agent-db01-\(UUID().uuidString.lowercased())")
            let bearer = try await Curl.run([
                "--cacert", app.chainFile, "-H", "Authorization: Bearer good-token", "-H", "Content-Type: application/pkcs10", "--data-binary",
                "@\(one.b64)", url,
            ])
            #expect(bearer.status == 200)
            // The token was one-time: using it again is refused by the RA, and the reason reaches the client.
            let two = try await opensslCSR(in: app.directory, name: "two", commonName: "agent-db02-\(UUID().uuidString.lowercased())")
            let reused = try await Curl.run([
                "--cacert", app.chainFile, "-u", "agent:good-token", "-H", "Content-Type: application/pkcs10", "--data-binary", "@\(two.b64)", url,
            ])
            #expect(reused.status == 403)
            #expect(reused.body.contains("unknown or used token"))
        }
    }

    @Test("an oversized body is answered 413 and a body that is not base64 or not a CSR is answered 400 with a reason")
    func badBodies() async throws {
        try await RunningAppliance.with { app in
            let url = "\(app.httpsURL)/.well-known/est/simpleenroll"
            let big = app.directory.file("big.b64")
            try String(repeating: "QUFB", count: 5000).write(toFile: big, atomically: true, encoding: .utf8)
            let tooLarge = try await Curl.run(["--cacert", app.chainFile, "-H", "Content-Type: application/pkcs10", "--data-binary", "@\(big)", url])
            #expect(tooLarge.status == 413)

            let garbage = try await Curl.run([
                "--cacert", app.chainFile, "-H", "Content-Type: application/pkcs10", "--data-binary", "this is *not* base64!", url,
            ])
            #expect(garbage.status == 400)
            #expect(garbage.body.contains("not valid base64"))

            let notCSR = try await Curl.run([
                "--cacert", app.chainFile, "-H", "Content-Type: application/pkcs10", "--data-binary", "aGVsbG8gd29ybGQ=", url,
            ])
            #expect(notCSR.status == 400)
            #expect(notCSR.body.contains("PKCS#10"))
        }
    }
}
