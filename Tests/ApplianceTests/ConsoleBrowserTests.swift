import Foundation
import PKICore
import TestSupport
import Testing
import X509

/// The web console in a real browser (docs/console.md): Debian's headless chromium driven by
/// Selenium through chromedriver (`Tests/Browser/console_browser_test.py`), with the
/// administrators' PKCS#12 files imported into its NSS database as a person would, against the
/// real `appliance serve` and the real `agent`. Screenshots of every page at 1280×800 go to
/// `.build/console-screenshots/` (the committed ones are `docs/screenshots/`).
@Suite("Web console in a browser", .serialized)
struct ConsoleBrowserTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test(
        "in chromium: a viewer sees no approve control; an administrator approves a waiting agent by clicking and it enrols; revokes its certificate by clicking and openssl ocsp says revoked; every page passes axe (no serious or critical finding) and is captured at 1280x800"
    )
    func approveAndRevokeInChromium() async throws {
        try await ApplianceProcess.with(extraConfiguration: ConsoleServeTests.consoleConfiguration) { app in
            let port = try ConsoleServeTests.consolePort(app)
            let admin = try ConsoleServeTests.addAdmin(app, "alice", role: "admin")
            let viewer = try ConsoleServeTests.addAdmin(app, "victor", role: "viewer")

            // The real agent enrols without a token and waits for an administrator.
            let hostname = "browser-01.example.org"
            let agentDirectory = app.directory.file("agent-browser")
            let agent = try ProductBinary.tool("agent").start([
                "enroll", "--server", "https://127.0.0.1:\(app.https)", "--pin", try app.intermediatePin(), "--hostname", hostname,
                "--out", agentDirectory, "--max-wait", "180",
            ])
            defer { agent.stop() }
            #expect(agent.waitForOutput("waits for an administrator", timeout: 60), "\(agent.output)")

            func browser(_ steps: [String]) throws -> ExternalTool.Result {
                let work = app.directory.file("browser-\(UUID().uuidString)")
                try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
                return try ExternalTool(Self.packageRoot.appendingPathComponent(".tools/venv/bin/python").path).run(
                    [Self.packageRoot.appendingPathComponent("Tests/Browser/console_browser_test.py").path] + steps,
                    environment: [
                        "CONSOLE_URL": "https://127.0.0.1:\(port)", "ROOT_CA": app.state.path("ca", "root-ca.crt"), "WORK": work,
                        "SCREENSHOTS": Self.packageRoot.appendingPathComponent(".build/console-screenshots").path, "HOST": hostname,
                        "ADMIN_P12": "\(admin.directory)/admin-alice.p12", "ADMIN_P12_PASSWORD_FILE": "\(admin.directory)/admin-alice.p12.password",
                        "ADMIN_CN": "admin-alice",
                        "VIEWER_P12": "\(viewer.directory)/admin-victor.p12",
                        "VIEWER_P12_PASSWORD_FILE": "\(viewer.directory)/admin-victor.p12.password",
                        "VIEWER_CN": "admin-victor",
                    ], timeout: 300)
            }

            let decided = try browser(["viewer", "approve"])
            #expect(decided.succeeded, "\(decided.output)")
            #expect(decided.stdout.contains("ok viewer sees no approve control"))
            #expect(decided.stdout.contains("ok approved \(hostname) by clicking"))
            #expect(agent.waitForOutput("enrolled: serial", timeout: 60), "the agent did not enrol after the click:\n\(agent.output)")

            let certificate = "\(agentDirectory)/agent.crt"
            #expect(try PostgreSQLServeTests.ocsp(app, http: app.http, certificate: certificate).contains(": good"))
            // A second registration waits while the pages are captured (its CSR's organisation is hostile markup).
            let waiting = try KeyAlgorithm.p256.generatePrivateKey()
            let identity = try AgentIdentity(hostname: "browser-02.example.org", uuid: UUID().uuidString.lowercased())
            let csr = try CertificateSigningRequest(
                version: .v1,
                subject: try DistinguishedName {
                    OrganizationName("<img src=x onerror=alert(1)>")
                    CommonName(identity.hostname)
                },
                privateKey: waiting,
                attributes: CertificateSigningRequest.Attributes([
                    .init(ExtensionRequest(extensions: try Certificate.Extensions { SubjectAlternativeNames(identity.subjectAlternativeNames) }))
                ]))
            #expect(try app.enrol(csrDER: try PEMCodec.der(csr), token: nil, name: "waiting").status == 202)

            let revoked = try browser(["revoke", "pages"])
            #expect(revoked.succeeded, "\(revoked.output)")
            #expect(revoked.stdout.contains("by clicking"))
            let ocsp = try PostgreSQLServeTests.ocsp(app, http: app.http, certificate: certificate)
            #expect(ocsp.contains(": revoked") && ocsp.contains("Reason: keyCompromise"), "\(ocsp)")
            for page in ["overview", "pending", "certificates", "timeline", "audit", "certificate"] {
                #expect(revoked.stdout.contains("ok \(page) screenshot and axe"), "\(page): \(revoked.output)")
            }
            let audit = try app.sql("SELECT actor || ' ' || action FROM audit_events")
            #expect(audit.contains("console:admin-alice@127.0.0.1:") && audit.contains("registration.approved"))
        }
    }
}
