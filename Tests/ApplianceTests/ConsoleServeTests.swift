import Foundation
import PKICore
import SwiftASN1
import TestSupport
import Testing
import X509

/// The administrators' web console against the real `appliance serve` (docs/console.md), seen only
/// from outside: `appliance admins …` through admin.sock, curl with client certificates on a
/// run-time port, openssl for PKCS#12 and OCSP.
@Suite("Web console", .serialized)
struct ConsoleServeTests {
    static let consoleConfiguration = """
        console:
          enabled: true
          address: 127.0.0.1
          port: 0
        """

    /// One HTTP exchange with curl: status, response headers (lower-cased names) and body.
    struct Exchange {
        var status: Int
        var headers: [String: String]
        var body: String
        var curlExit: Int32
    }

    /// A browser-like client: a client certificate (or none) and a cookie jar.
    struct Client {
        let app: ApplianceProcess
        let port: Int
        let certificate: String?
        let key: String?
        let jar: String

        init(_ app: ApplianceProcess, port: Int, certificate: String?, key: String?) {
            self.app = app
            self.port = port
            self.certificate = certificate
            self.key = key
            self.jar = app.directory.file("jar-\(UUID().uuidString)")
        }

        func get(_ path: String) throws -> Exchange { try run(path, form: nil) }
        func post(_ path: String, _ form: [(String, String)], cookies: Bool = true) throws -> Exchange { try run(path, form: form, cookies: cookies) }

        func run(_ path: String, form: [(String, String)]?, cookies: Bool = true) throws -> Exchange {
            let name = UUID().uuidString
            let headers = app.directory.file("\(name).headers")
            let body = app.directory.file("\(name).body")
            var arguments = ["-sS", "--max-time", "20", "--cacert", app.chain, "-D", headers, "-o", body, "-w", "%{http_code}"]
            if let certificate, let key { arguments += ["--cert", certificate, "--key", key] }
            if cookies { arguments += ["-c", jar, "-b", jar] }
            if let form, form.isEmpty { arguments += ["--data", ""] }  // a POST with an empty form
            for (field, value) in form ?? [] { arguments += ["--data-urlencode", "\(field)=\(value)"] }
            arguments.append("https://127.0.0.1:\(port)\(path)")
            let result = try ExternalTool("curl").run(arguments)
            var parsed: [String: String] = [:]
            let text = String(decoding: FileManager.default.contents(atPath: headers) ?? Data(), as: UTF8.self)
            for line in text.split(whereSeparator: \.isNewline) {
                guard let colon = line.firstIndex(of: ":") else { continue }
                parsed[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            return Exchange(
                status: Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, headers: parsed,
                body: String(decoding: FileManager.default.contents(atPath: body) ?? Data(), as: UTF8.self), curlExit: result.status)
        }

        /// The CSRF token of the last page's forms.
        static func csrf(_ page: String) throws -> String {
            let match = try #require(page.firstMatch(of: /name="csrf" (?:value|content)="([A-Za-z0-9_\-]+)"/), "no CSRF token on the page")
            return String(match.1)
        }
    }

    /// The console port `serve` reported (`console: https://127.0.0.1:PORT/`).
    static func consolePort(_ app: ApplianceProcess) throws -> Int {
        #expect(app.process.waitForOutput("console: https://", timeout: 30))
        let match = try #require(app.process.output.firstMatch(of: /console: https:\/\/127\.0\.0\.1:(\d+)\//), "\(app.process.output)")
        return try #require(Int(match.1))
    }

    /// `appliance admins add NAME --role ROLE --out DIR`; the certificate and key paths.
    static func addAdmin(_ app: ApplianceProcess, _ name: String, role: String) throws -> (certificate: String, key: String, directory: String) {
        let directory = app.directory.file("admin-\(name)")
        let result = try ProductBinary.tool("appliance").run([
            "admins", "add", name, "--role", role, "--out", directory, "--state-dir", app.stateRoot,
        ])
        try #require(result.succeeded, "admins add failed: \(result.output)")
        return ("\(directory)/admin-\(name).crt", "\(directory)/admin-\(name).key", directory)
    }

    /// A token-enrolled agent's certificate and key files.
    static func enrolAgent(_ app: ApplianceProcess, hostname: String) throws -> (certificate: String, key: String) {
        let key = try KeyAlgorithm.p256.generatePrivateKey()
        let csr = try PEMCodec.der(TestPKI.agentCSR(hostname: hostname, uuid: UUID().uuidString.lowercased(), key: key))
        let enrolled = try app.enrol(csrDER: csr, token: try app.requireToken(hostname: hostname))
        try #require(enrolled.status == 200, "\(enrolled.body)")
        let keyPath = app.directory.file("\(hostname).key")
        try (try key.serializeAsPEM().pemString + "\n").write(toFile: keyPath, atomically: true, encoding: .utf8)
        return (try #require(enrolled.certificate), keyPath)
    }

    @Test(
        "admins add issues a role-bearing administrator certificate with a PKCS#12 whose password is only in a 0600 file; the console admits it and refuses no certificate, an agent's, the server's, another CA's and a revoked one"
    )
    func administratorCertificatesAndAccess() async throws {
        try await ApplianceProcess.with(extraConfiguration: Self.consoleConfiguration) { app in
            let port = try Self.consolePort(app)
            let alice = try Self.addAdmin(app, "alice", role: "admin")

            // Files: key, PKCS#12 and its password 0600 in a 0700 directory; the password never printed.
            var info = stat()
            #expect(stat(alice.directory, &info) == 0 && info.st_mode & 0o777 == 0o700)
            for file in ["admin-alice.key", "admin-alice.p12", "admin-alice.p12.password"] {
                #expect(stat("\(alice.directory)/\(file)", &info) == 0 && info.st_mode & 0o777 == 0o600, "\(file)")
            }
            let password = try String(contentsOfFile: "\(alice.directory)/admin-alice.p12.password", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(password.count == 24)
            #expect(!app.process.output.contains(password))
            // openssl opens the PKCS#12 with the password file (MAC and key decryption), and finds our certificate and key.
            let openssl = try ExternalTool("openssl")
            let opened = try openssl.run([
                "pkcs12", "-in", "\(alice.directory)/admin-alice.p12", "-passin", "file:\(alice.directory)/admin-alice.p12.password", "-nodes",
            ])
            #expect(opened.succeeded, "\(opened.output)")
            #expect(opened.stdout.contains("subject=") && opened.stdout.contains("admin-alice") && opened.stdout.contains("PRIVATE KEY"))
            let wrong = try openssl.run(["pkcs12", "-in", "\(alice.directory)/admin-alice.p12", "-passin", "pass:wrong", "-nodes"])
            #expect(!wrong.succeeded)
            // The profile: clientAuth + the console administrator usage + the admin role, OU=admins.
            let text = try openssl.run(["x509", "-in", alice.certificate, "-noout", "-text"]).stdout
            #expect(text.contains("TLS Web Client Authentication, 2.25.8990053429951891987.1, 2.25.8990053429951891987.2.4"), "\(text)")
            #expect(text.contains("OU=admins") || text.contains("OU = admins"))

            let viewer = try Self.addAdmin(app, "victor", role: "viewer")
            let again = try ProductBinary.tool("appliance").run([
                "admins", "add", "alice", "--role", "viewer", "--out", app.directory.file("alice-again"), "--state-dir", app.stateRoot,
            ])
            #expect(!again.succeeded && again.output.contains("already has certificate"))
            let list = try ProductBinary.tool("appliance").run(["admins", "list", "--state-dir", app.stateRoot])
            #expect(
                list.stdout.contains("issued admin-alice role=admin") && list.stdout.contains("issued admin-victor role=viewer"), "\(list.output)")

            // Admitted, with the security headers and a session cookie.
            let page = try Client(app, port: port, certificate: alice.certificate, key: alice.key).get("/")
            #expect(page.status == 200, "\(page.body)")
            #expect(page.body.contains("Signed in as <strong>admin-alice</strong> (admin)"))
            let csp = page.headers["content-security-policy"] ?? ""
            #expect(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"))
            #expect(page.headers["x-frame-options"] == "DENY")
            #expect(page.headers["referrer-policy"] == "no-referrer")
            let cookie = page.headers["set-cookie"] ?? ""
            #expect(cookie.contains("SameSite=Strict") && cookie.contains("Secure") && cookie.contains("HttpOnly"), "\(cookie)")
            #expect(!page.body.contains("<script") && !page.body.contains("style="))

            // No certificate: 401.
            let anonymous = try Client(app, port: port, certificate: nil, key: nil).get("/")
            #expect(anonymous.status == 401 && anonymous.body.contains("administrator client certificate is required"))
            #expect(anonymous.headers["x-frame-options"] == "DENY")

            // An agent's certificate (same CA, clientAuth) is not an administrator's: 403.
            let agent = try Self.enrolAgent(app, hostname: "console-agent.example.org")
            let asAgent = try Client(app, port: port, certificate: agent.certificate, key: agent.key).get("/")
            #expect(asAgent.status == 403 && asAgent.body.contains("not an administrator certificate"), "\(asAgent.status) \(asAgent.body)")

            // The appliance's own server certificate (serverAuth) is refused too.
            let server = try Client(
                app, port: port, certificate: app.state.path("server", "server.crt"),
                key: app.state.path("server", "private", "server.key")
            ).get("/")
            #expect(server.status != 200)
            if server.status != 0 { #expect(server.status == 403 && server.body.contains("not an administrator certificate")) }

            // An administrator certificate of another CA, same name and profile: refused at the handshake.
            let impostorPKI = try await TestPKI.make()
            let impostor = try await impostorPKI.issueAdmin(name: "alice")
            try TestPKI.write(impostor, name: "impostor", to: app.directory.path)
            let asImpostor = try Client(app, port: port, certificate: app.directory.file("impostor.pem"), key: app.directory.file("impostor.key"))
                .get("/")
            #expect(asImpostor.status == 0 && asImpostor.curlExit != 0, "\(asImpostor.status) \(asImpostor.body)")

            // A revoked administrator is refused from the next connection.
            #expect(try Client(app, port: port, certificate: viewer.certificate, key: viewer.key).get("/").status == 200)
            let revoked = try ProductBinary.tool("appliance").run([
                "admins", "revoke", "victor", "--reason", "affiliationChanged", "--state-dir", app.stateRoot,
            ])
            #expect(revoked.succeeded && revoked.stdout.contains("revoked"), "\(revoked.output)")
            let asRevoked = try Client(app, port: port, certificate: viewer.certificate, key: viewer.key).get("/")
            #expect(asRevoked.status != 200)
            if asRevoked.status != 0 { #expect(asRevoked.status == 403 && asRevoked.body.contains("revoked")) }
            let after = try ProductBinary.tool("appliance").run(["admins", "list", "--state-dir", app.stateRoot])
            #expect(after.stdout.contains("revoked admin-victor"), "\(after.output)")
        }
    }

    @Test(
        "console approvals and revocations: a viewer sees no button and gets 403; a missing, wrong or cookie-less CSRF token changes nothing; the CSR's hostile organisation is escaped; approve and revoke go through the RA, are audited with the administrator and address, and openssl ocsp says revoked"
    )
    func actionsThroughTheConsole() async throws {
        try await ApplianceProcess.with(extraConfiguration: Self.consoleConfiguration) { app in
            let port = try Self.consolePort(app)
            let admin = try Self.addAdmin(app, "alice", role: "admin")
            let viewerFiles = try Self.addAdmin(app, "victor", role: "viewer")
            let revokerFiles = try Self.addAdmin(app, "rita", role: "revoker")
            let alice = Client(app, port: port, certificate: admin.certificate, key: admin.key)
            let victor = Client(app, port: port, certificate: viewerFiles.certificate, key: viewerFiles.key)
            let rita = Client(app, port: port, certificate: revokerFiles.certificate, key: revokerFiles.key)

            // A tokenless enrolment whose CSR carries a hostile organisation: it waits pending.
            let hostile = "<img src=x onerror=alert(1)>"
            let hostname = "console-pending.example.org"
            let key = try KeyAlgorithm.p256.generatePrivateKey()
            let identity = try AgentIdentity(hostname: hostname, uuid: UUID().uuidString.lowercased())
            let csr = try CertificateSigningRequest(
                version: .v1,
                subject: try DistinguishedName {
                    OrganizationName(hostile)
                    CommonName(hostname)
                }, privateKey: key,
                attributes: CertificateSigningRequest.Attributes([
                    .init(ExtensionRequest(extensions: try Certificate.Extensions { SubjectAlternativeNames(identity.subjectAlternativeNames) }))
                ]))
            let csrDER = try PEMCodec.der(csr)
            let first = try app.enrol(csrDER: csrDER, token: nil, name: "pending")
            #expect(first.status == 202, "\(first.body)")

            // The viewer sees it, escaped, with no approve button; a POST is refused whatever the token.
            let viewerPage = try victor.get("/pending")
            #expect(viewerPage.status == 200)
            #expect(viewerPage.body.contains("&lt;img src=x onerror=alert(1)&gt;"), "\(viewerPage.body)")
            #expect(!viewerPage.body.contains(hostile))
            #expect(!viewerPage.body.contains("/approve"))
            let registrationID = try #require(
                try app.sql("SELECT id FROM registrations WHERE status = 'pending'").split(whereSeparator: \.isNewline).first.map(String.init))
            let viewerToken = try Client.csrf(try victor.get("/certificates/\(try PostgreSQLServeTests.serial(admin.certificate))").body)
            let viewerPost = try victor.post("/pending/\(registrationID)/approve", [("csrf", viewerToken)])
            #expect(viewerPost.status == 403 && viewerPost.body.contains("may not approve"), "\(viewerPost.status) \(viewerPost.body)")
            // A revoker may not approve either.
            #expect(try rita.post("/pending/\(registrationID)/approve", [("csrf", "x")]).status == 403)

            // The administrator's confirmation page carries the token; missing, wrong, or without the cookie: 403.
            let confirm = try alice.get("/pending/\(registrationID)/approve")
            #expect(confirm.status == 200 && confirm.body.contains("Approve \(hostname)"), "\(confirm.body)")
            let token = try Client.csrf(confirm.body)
            #expect(try alice.post("/pending/\(registrationID)/approve", []).status == 403)
            #expect(try alice.post("/pending/\(registrationID)/approve", [("csrf", "AAAA" + token.dropFirst(4))]).status == 403)
            #expect(try alice.post("/pending/\(registrationID)/approve", [("csrf", token)], cookies: false).status == 403)
            // Another administrator's token on this session does not match either (bound to the certificate).
            #expect(try alice.post("/pending/\(registrationID)/approve", [("csrf", viewerToken)]).status == 403)
            #expect(try app.sql("SELECT status FROM registrations WHERE id = '\(registrationID)'").contains("pending"))

            // With the token: approved through the RA; the agent's next request gets its certificate.
            let approved = try alice.post("/pending/\(registrationID)/approve", [("csrf", token)])
            #expect(approved.status == 303 && approved.headers["location"] == "/pending?done=approved", "\(approved.status) \(approved.body)")
            let enrolled = try app.enrol(csrDER: csrDER, token: nil, name: "approved")
            #expect(enrolled.status == 200, "\(enrolled.body)")
            let certificate = try #require(enrolled.certificate)
            let serial = try PostgreSQLServeTests.serial(certificate)

            // Revoke: the revoker's form needs the typed serial; a wrong one revokes nothing.
            let detail = try rita.get("/certificates/\(serial)")
            #expect(detail.status == 200 && detail.body.contains("Revoke certificate"))
            #expect(!(try victor.get("/certificates/\(serial)").body.contains("Revoke certificate")))
            let revokeToken = try Client.csrf(detail.body)
            // An approver may not revoke, whatever it posts.
            let approverFiles = try Self.addAdmin(app, "paul", role: "approver")
            let paul = Client(app, port: port, certificate: approverFiles.certificate, key: approverFiles.key)
            let paulPage = try paul.get("/certificates/\(serial)")
            #expect(paulPage.status == 200 && !paulPage.body.contains("Revoke certificate"))
            let paulRevoke = try paul.post(
                "/certificates/\(serial)/revoke", [("csrf", try Client.csrf(paulPage.body)), ("reason", "keyCompromise"), ("confirm", serial)])
            #expect(paulRevoke.status == 403 && paulRevoke.body.contains("may not revoke"), "\(paulRevoke.status) \(paulRevoke.body)")
            let mistyped = try rita.post("/certificates/\(serial)/revoke", [("csrf", revokeToken), ("reason", "keyCompromise"), ("confirm", "00")])
            #expect(mistyped.status == 400)
            #expect(try PostgreSQLServeTests.ocsp(app, http: app.http, certificate: certificate).contains(": good"))
            let revoked = try rita.post("/certificates/\(serial)/revoke", [("csrf", revokeToken), ("reason", "keyCompromise"), ("confirm", serial)])
            #expect(revoked.status == 303, "\(revoked.status) \(revoked.body)")
            let ocsp = try PostgreSQLServeTests.ocsp(app, http: app.http, certificate: certificate)
            #expect(ocsp.contains(": revoked") && ocsp.contains("Reason: keyCompromise"), "\(ocsp)")

            // Audited with the administrator's name and address, in the chained journal.
            let audit = try app.sql("SELECT actor || ' ' || action FROM audit_events")
            #expect(audit.contains("console:admin-alice@127.0.0.1:") && audit.contains("registration.approved"), "\(audit)")
            #expect(audit.contains("console:admin-rita@127.0.0.1:"), "\(audit)")
            let auditPage = try alice.get("/audit")
            #expect(auditPage.status == 200 && auditPage.body.contains("Audit chain: intact"), "\(auditPage.body)")

            // Every page renders for a viewer without script or inline style.
            for path in ["/", "/pending", "/certificates", "/certificates/\(serial)", "/timeline", "/audit"] {
                let page = try victor.get(path)
                #expect(page.status == 200, "\(path): \(page.status)")
                #expect(!page.body.contains("<script") && !page.body.contains(" style="), "\(path)")
            }
        }
    }

    @Test(
        "on a PostgreSQL store: admins add issues into the shared database, the console admits the certificate, admins list and revoke work and the revoked certificate is refused"
    )
    func administratorsOnPostgreSQL() async throws {
        let cluster = try PostgreSQLCluster.shared()
        let database = try cluster.createDatabase(prefix: "console")
        defer { cluster.dropDatabase(database) }
        let configuration = PostgreSQLServeTests.storeYAML(cluster, database: database) + "\n" + Self.consoleConfiguration
        try await ApplianceProcess.with(extraConfiguration: configuration) { app in
            let port = try Self.consolePort(app)
            let alice = try Self.addAdmin(app, "alice", role: "revoker")
            let rows = try cluster.psql("SELECT type || ' ' || status FROM certificates WHERE subject LIKE 'CN=admin-alice%'", database: database)
            #expect(rows.contains("admin issued"), "\(rows)")
            let page = try Client(app, port: port, certificate: alice.certificate, key: alice.key).get("/")
            #expect(page.status == 200 && page.body.contains("admin-alice</strong> (revoker)"), "\(page.status) \(page.body)")
            let list = try ProductBinary.tool("appliance").run(["admins", "list", "--state-dir", app.stateRoot])
            #expect(list.stdout.contains("issued admin-alice role=revoker"), "\(list.output)")
            #expect(try ProductBinary.tool("appliance").run(["admins", "revoke", "alice", "--state-dir", app.stateRoot]).succeeded)
            #expect(try Client(app, port: port, certificate: alice.certificate, key: alice.key).get("/").status != 200)
        }
    }

    @Test(
        "the Overview shows the last 24 h: a refused client certificate by reason, and renewals succeeded and refused with the rate, counted where /metrics counts them"
    )
    func overviewLast24Hours() async throws {
        // Renewal opens at once (90-day window on 90-day certificates), so a renewal of its own identity succeeds.
        try await ApplianceProcess.with(extraConfiguration: Self.consoleConfiguration + "\nca:\n  renew_before_days: 90\n") { app in
            let port = try Self.consolePort(app)
            let alice = try Self.addAdmin(app, "alice", role: "viewer")
            let before = try Client(app, port: port, certificate: alice.certificate, key: alice.key).get("/")
            #expect(before.status == 200 && before.body.contains("0 succeeded, 0 refused (no renewals)"), "\(before.body)")
            #expect(!before.body.contains("<td>not_administrator</td>"))

            // A refused client certificate: an agent's at the console (403, not_administrator).
            let uuid = UUID().uuidString.lowercased()
            let key = try KeyAlgorithm.p256.generatePrivateKey()
            let csr = try PEMCodec.der(TestPKI.agentCSR(hostname: "overview-01.example.org", uuid: uuid, key: key))
            let enrolled = try app.enrol(csrDER: csr, token: try app.requireToken(hostname: "overview-01.example.org"))
            let certificate = try #require(enrolled.certificate, "enrolment answered \(enrolled.status): \(enrolled.body)")
            let keyFile = app.directory.file("overview-01.key")
            #expect(
                FileManager.default.createFile(
                    atPath: keyFile, contents: Data(try key.serializeAsPEM().pemString.utf8), attributes: [.posixPermissions: 0o600]))
            #expect(try Client(app, port: port, certificate: certificate, key: keyFile).get("/").status == 403)

            // A refused renewal (the CSR names another host) and a successful one.
            let refused = try app.renew(
                csrDER: try ApplianceProcess.agentCSR(hostname: "other-01.example.org", uuid: uuid), certificate: certificate, key: keyFile)
            #expect(refused.status == 403, "\(refused.body)")
            let renewed = try app.renew(
                csrDER: try ApplianceProcess.agentCSR(hostname: "overview-01.example.org", uuid: uuid), certificate: certificate, key: keyFile)
            #expect(renewed.status == 200, "\(renewed.body)")

            let after = try Client(app, port: port, certificate: alice.certificate, key: alice.key).get("/")
            #expect(after.status == 200)
            #expect(after.body.contains("Client certificate refusals by reason (last 24 h)"))
            #expect(after.body.contains("<td>not_administrator</td><td>1</td>"), "\(after.body)")
            #expect(after.body.contains("<td>reenroll_identity_mismatch</td><td>1</td>"), "\(after.body)")
            #expect(after.body.contains("1 succeeded, 1 refused (50 % succeeded)"), "\(after.body)")
            // The same counting point as /metrics.
            let metrics = try ExternalTool("curl").run(["-sS", "http://127.0.0.1:\(app.http)/metrics"]).stdout
            #expect(metrics.contains("rootkeeper_certificate_validation_failures_total{reason=\"not_administrator\"} 1"), "\(metrics)")
            #expect(metrics.contains("rootkeeper_renewals_refused_total{reason=\"identity_mismatch\"} 1"), "\(metrics)")
            #expect(metrics.contains("rootkeeper_certificates_renewed_total 1"), "\(metrics)")
        }
    }
}
