import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing

/// Threat model T7 (enrolment): the EST flows of ``ESTEnrollmentTests`` against the REAL runtime —
/// `IntermediateCA` with its SQLite store and the intermediate installed through the ceremony
/// (``RenewalHarness``) — rather than the fake CA, with curl and openssl as the clients.
@Suite("EST against the real intermediate CA and SQLite store, driven by curl and openssl", .serialized)
struct RealCAESTTests {
    /// POSTs a base64 CSR to an EST endpoint with curl (`extra` adds auth or a client certificate).
    static func post(_ app: ServingAppliance, _ path: String, csr: String, root: String, _ extra: [String] = []) async throws -> CurlResult {
        try await Curl.run(
            ["--cacert", root, "-H", "Content-Type: application/pkcs10"] + extra
                + ["--data-binary", "@\(csr)", "\(app.httpsURL)/.well-known/est/\(path)"])
    }

    /// Decodes an EST certs-only body with openssl and verifies the certificate against the chain.
    static func issuedCertificate(_ response: CurlResult, _ h: RenewalHarness, name: String) async throws -> String {
        let body = h.directory.file("\(name).p7.b64")
        let pem = h.directory.file("\(name).pem")
        try response.body.write(toFile: body, atomically: true, encoding: .utf8)
        let decoded = try await Curl.shell("openssl base64 -d -in '\(body)' | openssl pkcs7 -inform DER -print_certs -out '\(pem)'")
        guard decoded.succeeded else { throw TestFailure("cannot decode the EST response: \(decoded.output)") }
        return pem
    }

    /// `openssl verify` of `pem` under the served root with the intermediate from the state directory.
    static func verifies(_ pem: String, _ h: RenewalHarness) async throws -> ExternalTool.Result {
        try await ExternalTool("openssl").runAsync(["verify", "-CAfile", h.directory.file("root.pem"), "-untrusted", Self.intermediatePath(h), pem])
    }

    /// The installed intermediate, as `appliance intermediate install` wrote it.
    static func intermediatePath(_ h: RenewalHarness) -> String { h.state.path("ca", "intermediate-ca.crt") }

    /// The row the CA recorded for `pem`'s serial in the SQLite store, read with the sqlite3 tool.
    static func storedStatus(_ pem: String, _ h: RenewalHarness) async throws -> String {
        let serial = try await ExternalTool("openssl").runAsync(["x509", "-in", pem, "-noout", "-serial"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "").lowercased()
        let database = h.state.path("db", "rootkeeper.sqlite")
        let row = try await ExternalTool("sqlite3").runAsync([
            database, "SELECT status FROM certificates WHERE ltrim(lower(serial), '0') = ltrim('\(serial)', '0');",
        ])
        return row.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("cacerts lists the installed intermediate and the root, byte for byte")
    func caCertificates() async throws {
        let h = try await RenewalHarness.make()
        defer { h.remove() }
        let app = try await h.start()
        let root = h.directory.file("root.pem")
        do {
            let response = try await Curl.run(["--cacert", root, "\(app.httpsURL)/.well-known/est/cacerts"])
            #expect(response.status == 200)
            #expect(response.headers["content-transfer-encoding"] == "base64")
            let pem = try await Self.issuedCertificate(response, h, name: "cacerts")
            let listed = try String(contentsOfFile: pem, encoding: .utf8)
            let intermediate = try String(contentsOfFile: Self.intermediatePath(h), encoding: .utf8)
            let rootPEM = try String(contentsOfFile: root, encoding: .utf8)
            let served = listed.components(separatedBy: "-----END CERTIFICATE-----").compactMap { block -> String? in
                guard let start = block.range(of: "-----BEGIN CERTIFICATE-----") else { return nil }
                return String(block[start.lowerBound...]).filter { !$0.isWhitespace } + "-----ENDCERTIFICATE-----"
            }
            #expect(served.count == 2, "\(listed)")
            #expect(served.contains(intermediate.filter { !$0.isWhitespace }), "the installed intermediate is not in cacerts")
            #expect(served.contains(rootPEM.filter { !$0.isWhitespace }), "the root is not in cacerts")
        } catch {
            await app.stop()
            throw error
        }
        await app.stop()
    }

    @Test("simpleenroll with a one-time token issues a certificate the store records; the replayed token is refused with 403 and why")
    func tokenEnrolmentAndReplay() async throws {
        let h = try await RenewalHarness.make()
        defer { h.remove() }
        let app = try await h.start()
        let root = h.directory.file("root.pem")
        do {
            let token = try await app.runtime.ca.createToken(hostname: "web01", caller: RenewalHarness.admin)
            let first = try await opensslCSR(in: app.directory, name: "web01", commonName: "agent-web01-\(UUID().uuidString.lowercased())")
            let issued = try await Self.post(app, "simpleenroll", csr: first.b64, root: root, ["-H", "Authorization: Bearer \(token)"])
            #expect(issued.status == 200, "\(issued.raw.output)")
            let pem = try await Self.issuedCertificate(issued, h, name: "web01")
            let verified = try await Self.verifies(pem, h)
            #expect(verified.stdout.hasSuffix(": OK\n"), "\(verified.output)")
            #expect(try await Self.storedStatus(pem, h) == "issued")

            // The same token with another key (a replay by whoever saw it): refused, nothing signed.
            let second = try await opensslCSR(in: app.directory, name: "web01-replay", commonName: "agent-web01-\(UUID().uuidString.lowercased())")
            let replayed = try await Self.post(app, "simpleenroll", csr: second.b64, root: root, ["-u", "agent:\(token)"])
            #expect(replayed.status == 403, "\(replayed.raw.output)")
            #expect(replayed.body.contains("enrolment token was already used"), "\(replayed.body)")
            #expect(!replayed.body.contains(token), "the token is echoed back")
            let count = try await ExternalTool("sqlite3").runAsync([
                h.state.path("db", "rootkeeper.sqlite"), "SELECT count(*) FROM certificates WHERE type = 'agent';",
            ])
            #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(count.output)")
        } catch {
            await app.stop()
            throw error
        }
        await app.stop()
    }

    @Test("without a token: 202 + Retry-After while pending, 200 with a verifying certificate after an administrator approves")
    func pendingThenApproved() async throws {
        let h = try await RenewalHarness.make()
        defer { h.remove() }
        let app = try await h.start()
        let root = h.directory.file("root.pem")
        do {
            let uuid = UUID().uuidString.lowercased()
            let csr = try await opensslCSR(in: app.directory, name: "pending", commonName: "agent-db01-\(uuid)")
            let first = try await Self.post(app, "simpleenroll", csr: csr.b64, root: root)
            #expect(first.status == 202, "\(first.raw.output)")
            #expect(Int(first.headers["retry-after"] ?? "") ?? 0 > 0, "\(first.headers)")
            let again = try await Self.post(app, "simpleenroll", csr: csr.b64, root: root)
            #expect(again.status == 202, "still pending before approval")

            let approved = try await app.runtime.ca.approveAgent(id: uuid, caller: RenewalHarness.admin)
            #expect(approved.contains("approved db01"), "\(approved)")
            let second = try await Self.post(app, "simpleenroll", csr: csr.b64, root: root)
            #expect(second.status == 200, "\(second.raw.output)")
            let pem = try await Self.issuedCertificate(second, h, name: "db01")
            let verified = try await Self.verifies(pem, h)
            #expect(verified.stdout.hasSuffix(": OK\n"), "\(verified.output)")
            #expect(try await Self.storedStatus(pem, h) == "issued")
        } catch {
            await app.stop()
            throw error
        }
        await app.stop()
    }

    @Test("simplereenroll over mTLS with the agent's certificate issues a new one; without a client certificate it is refused")
    func reenrollOverMutualTLS() async throws {
        let h = try await RenewalHarness.make()
        defer { h.remove() }
        let app = try await h.start()
        let root = h.directory.file("root.pem")
        do {
            let agent = try await app.enroll("app01")
            let renewed = try await app.renewWithCurl(agent, root: root)
            #expect(renewed.status == 200)
            let verified = try await Self.verifies(renewed.cert, h)
            #expect(verified.stdout.hasSuffix(": OK\n"), "\(verified.output)")
            #expect(try await Self.storedStatus(renewed.cert, h) == "issued")
            // The certificate it replaces is marked superseded in the store.
            try agent.certificate.serializeAsPEM().pemString.write(toFile: agent.cert, atomically: true, encoding: .utf8)
            #expect(try await Self.storedStatus(agent.cert, h) == "superseded")
            let subject = try await ExternalTool("openssl").runAsync(["x509", "-in", renewed.cert, "-noout", "-subject", "-ext", "subjectAltName"])
            #expect(subject.stdout.contains(agent.uuid), "\(subject.output)")

            let csr = try await opensslCSR(in: app.directory, name: "anonymous", commonName: "agent-app01-\(agent.uuid)")
            let anonymous = try await Self.post(app, "simplereenroll", csr: csr.b64, root: root)
            #expect(anonymous.status == 401, "\(anonymous.raw.output)")
        } catch {
            await app.stop()
            throw error
        }
        await app.stop()
    }

    /// The `sha256/…` pin of the installed intermediate's SPKI, computed with openssl.
    static func intermediatePin(_ h: RenewalHarness) async throws -> String {
        let pin = try await ExternalTool("sh").runAsync([
            "-c",
            """
            openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | openssl base64 -A
            """, "sh", Self.intermediatePath(h),
        ])
        guard pin.succeeded else { throw TestFailure("cannot compute the pin: \(pin.output)") }
        return "sha256/" + pin.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func agent(_ arguments: [String]) async throws -> ExternalTool.Result {
        try await ProductBinary.tool("agent").runAsync(arguments, timeout: 120)
    }

    @Test("the agent binary enrols with a token file, reports status and renews over mTLS against the real CA; its spent token is refused")
    func agentBinary() async throws {
        let h = try await RenewalHarness.make()
        defer { h.remove() }
        let app = try await h.start()
        do {
            let pin = try await Self.intermediatePin(h)
            let token = try await app.runtime.ca.createToken(hostname: "web07", caller: RenewalHarness.admin)
            let tokenFile = h.directory.file("web07.token")
            FileManager.default.createFile(atPath: tokenFile, contents: Data(token.utf8), attributes: [.posixPermissions: 0o600])
            let out = h.directory.file("agent-web07")
            let enrolled = try await Self.agent([
                "enroll", "--server", app.httpsURL, "--pin", pin, "--hostname", "web07", "--out", out, "--token-file", tokenFile,
            ])
            #expect(enrolled.succeeded, "\(enrolled.output)")
            #expect(!enrolled.output.contains(token), "the token is printed")
            let verified = try await ExternalTool("openssl").runAsync(["verify", "-CAfile", "\(out)/ca-chain.crt", "\(out)/agent.crt"])
            #expect(verified.succeeded, "\(verified.output)")
            let first = h.directory.file("web07-first.pem")
            try FileManager.default.copyItem(atPath: URL(fileURLWithPath: "\(out)/agent.crt").resolvingSymlinksInPath().path, toPath: first)
            #expect(try await Self.storedStatus(first, h) == "issued")

            let status = try await Self.agent(["status", "--out", out])
            #expect(status.succeeded, "\(status.output)")
            #expect(status.stdout.contains("web07"), "\(status.output)")

            let renewed = try await Self.agent(["renew", "--out", out, "--force"])
            #expect(renewed.succeeded, "\(renewed.output)")
            let second = h.directory.file("web07-second.pem")
            try FileManager.default.copyItem(atPath: URL(fileURLWithPath: "\(out)/agent.crt").resolvingSymlinksInPath().path, toPath: second)
            #expect(try await Self.storedStatus(second, h) == "issued")
            #expect(try await Self.storedStatus(first, h) == "superseded")
            #expect(try await Self.verifies(second, h).succeeded)

            // Another machine presenting the same (spent) token: refused with the reason, nothing written.
            let other = h.directory.file("agent-web07-replay")
            let replayed = try await Self.agent([
                "enroll", "--server", app.httpsURL, "--pin", pin, "--hostname", "web07", "--out", other, "--token-file", tokenFile,
            ])
            #expect(!replayed.succeeded)
            #expect(replayed.output.contains("enrolment token was already used"), "\(replayed.output)")
            #expect(!FileManager.default.fileExists(atPath: "\(other)/agent.crt"))
        } catch {
            await app.stop()
            throw error
        }
        await app.stop()
    }

    @Test("the agent binary refuses a server whose chain does not match its pin before sending the token, which stays usable")
    func agentPinMismatchKeepsToken() async throws {
        let h = try await RenewalHarness.make()
        defer { h.remove() }
        let app = try await h.start()
        do {
            let token = try await app.runtime.ca.createToken(hostname: "web08", caller: RenewalHarness.admin)
            let tokenFile = h.directory.file("web08.token")
            FileManager.default.createFile(atPath: tokenFile, contents: Data(token.utf8), attributes: [.posixPermissions: 0o600])
            let wrongPin = "sha256/" + Data(repeating: 7, count: 32).base64EncodedString()
            let out = h.directory.file("agent-web08")
            let refused = try await Self.agent([
                "enroll", "--server", app.httpsURL, "--pin", wrongPin, "--hostname", "web08", "--out", out, "--token-file", tokenFile,
            ])
            #expect(!refused.succeeded)
            #expect(refused.output.contains("nothing was sent"), "\(refused.output)")
            let database = h.state.path("db", "rootkeeper.sqlite")
            let unused = try await ExternalTool("sqlite3").runAsync([
                database, "SELECT count(*) FROM enrollment_tokens WHERE consumed_at IS NULL; SELECT count(*) FROM certificates WHERE type = 'agent';",
            ])
            #expect(unused.stdout == "1\n0\n", "the token must stay unused and nothing be issued: \(unused.output)")

            let enrolled = try await Self.agent([
                "enroll", "--server", app.httpsURL, "--pin", try await Self.intermediatePin(h), "--hostname", "web08", "--out", out,
                "--token-file", tokenFile,
            ])
            #expect(enrolled.succeeded, "\(enrolled.output)")
            #expect(try await ExternalTool("openssl").runAsync(["verify", "-CAfile", "\(out)/ca-chain.crt", "\(out)/agent.crt"]).succeeded)
        } catch {
            await app.stop()
            throw error
        }
        await app.stop()
    }
}
