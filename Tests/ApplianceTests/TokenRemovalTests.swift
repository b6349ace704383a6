import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing

/// Issue 6, "HSM token removed while serving": the real `appliance serve` with its intermediate
/// key on a token that is pulled out and put back (SoftHSM behind ``RemovableTokenModule``),
/// observed only from outside — curl, openssl, `/health`, `/metrics`.
@Suite("The intermediate's token removed while serving", .serialized)
struct TokenRemovalTests {
    @Test("issuance fails closed while the token is out, /health and rootkeeper_hsm_up say why, and serving recovers when it is back")
    func tokenRemovedAndReinserted() async throws {
        let harness = try await SetupHarness.make()
        defer { harness.remove() }
        // `serve` runs as root here, so it drops to `nobody`, which must reach the state and the token.
        chmod(harness.directory.path, 0o755)
        try await SoftHSMToken.withExclusiveToken(label: "appliance-ca") { token in
            let module = try RemovableTokenModule(in: harness.directory)
            let location = PKCS11KeyLocation(modulePath: SoftHSMToken.modulePath, token: token.label)
            let result = try await ApplianceSetup.initialize(
                stateDirectory: harness.state, configuration: SetupHarness.request,
                keyBackend: .pkcs11(location, pin: SecretBytes(utf8: token.userPIN)), media: harness.media)
            let bundle = harness.directory.file("cert")
            try await harness.ceremony(csrBundle: result.bundlePath, out: bundle)
            _ = try ApplianceSetup.install(stateDirectory: harness.state, from: bundle, rootFingerprint: try harness.rootFingerprint)

            let (https, http) = (try DemoRunner.freePort(), try DemoRunner.freePort())
            let config = harness.directory.file("appliance.yaml")
            try """
                state_directory: \(harness.state.root.path)
                user: nobody
                https:
                  address: 127.0.0.1
                  port: \(https)
                http:
                  address: 127.0.0.1
                  port: \(http)
                pkcs11:
                  module: \(module.path)
                  token: \(token.label)
                """.write(toFile: config, atomically: true, encoding: .utf8)
            let pinFile = harness.directory.file("token.pin")
            #expect(FileManager.default.createFile(atPath: pinFile, contents: Data((token.userPIN + "\n").utf8), attributes: [.posixPermissions: 0o600]))
            for path in [harness.state.root.path, token.directory.path] {
                _ = try ExternalTool("chown").run(["-R", "nobody:", path])
            }
            chmod(token.directory.path, 0o755)
            chmod(config, 0o644)

            let serve = try ProductBinary.tool("appliance").start(
                ["serve", "--state-dir", harness.state.root.path, "--config", config, "--pin-source", "file:\(pinFile)"],
                environment: token.environment.merging(module.environment) { $1 })
            defer {
                serve.stop()
                ProcessReaper.terminate(commandLineContaining: harness.state.root.path)
            }
            let curl = try ExternalTool("curl")
            let chain = harness.state.path("ca", "ca-chain.crt")
            func get(_ path: String) throws -> (code: String, body: String) {
                let out = try curl.run(["-sS", "-w", "\n%{http_code}", "http://127.0.0.1:\(http)\(path)"])
                let lines = out.stdout.components(separatedBy: "\n")
                return (lines.last ?? "", lines.dropLast().joined(separator: "\n"))
            }
            func waitFor(_ what: String, _ condition: () throws -> Bool) throws {
                for _ in 0..<150 where try !condition() { usleep(200_000) }
                try #require(try condition(), "\(what) (serve output:\n\(serve.output))")
            }
            try waitFor("the appliance did not start") { (try? get("/health"))?.code == "200" }
            #expect(try get("/metrics").body.contains("rootkeeper_hsm_up 1"))

            let work = harness.directory
            func enrol(_ name: String) throws -> (code: String, certificate: String) {
                let appliance = try ProductBinary.tool("appliance")
                let tokenLine = try appliance.run(["agents", "token", "--hostname", name, "--state-dir", harness.state.root.path]).stdout
                let secret = tokenLine.split(whereSeparator: \.isWhitespace).last.map(String.init) ?? ""
                let openssl = try ExternalTool("openssl")
                _ = try openssl.run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                     "-keyout", work.file("\(name).key"), "-subj", "/CN=agent-\(name)-\(UUID().uuidString.lowercased())",
                                     "-outform", "DER", "-out", work.file("\(name).csr")])
                try openssl.run(["base64", "-in", work.file("\(name).csr")]).stdout
                    .write(toFile: work.file("\(name).b64"), atomically: true, encoding: .utf8)
                let reply = try curl.run(["-sS", "-o", work.file("\(name).reply"), "-w", "%{http_code}", "--cacert", chain,
                                          "-H", "Authorization: Bearer \(secret)", "-H", "Content-Type: application/pkcs10",
                                          "--data-binary", "@\(work.file("\(name).b64"))",
                                          "https://127.0.0.1:\(https)/.well-known/est/simpleenroll"])
                guard reply.stdout == "200" else { return (reply.stdout, "") }
                _ = try openssl.run(["base64", "-d", "-in", work.file("\(name).reply"), "-out", work.file("\(name).p7")])
                _ = try openssl.run(["pkcs7", "-inform", "DER", "-in", work.file("\(name).p7"), "-print_certs", "-out", work.file("\(name).crt")])
                return ("200", work.file("\(name).crt"))
            }
            func verifies(_ certificate: String) throws -> Bool {
                try ExternalTool("openssl").run(["verify", "-CAfile", harness.state.path("ca", "root-ca.crt"),
                                                 "-untrusted", harness.state.path("ca", "intermediate-ca.crt"), certificate]).succeeded
            }

            // Token in: a certificate signed on the token.
            let before = try enrol("before")
            #expect(before.code == "200")
            #expect(try verifies(before.certificate))

            // Token out: fail closed, and say so.
            try module.remove()
            try waitFor("/health did not report the missing token") { try get("/health").code == "503" }
            let health = try get("/health").body
            #expect(health.contains("token is unavailable"), "\(health)")
            #expect(health.contains("CKR_TOKEN_NOT_PRESENT") || health.contains("no tokens are present"),
                    "the reason should say the token is gone: \(health)")
            #expect(try get("/metrics").body.contains("rootkeeper_hsm_up 0"))
            let during = try enrol("during")
            #expect(during.code == "503", "issuance without the token must fail closed, got \(during.code)")
            let listed = try ProductBinary.tool("appliance").run(["certs", "list", "--state-dir", harness.state.root.path]).stdout
            let issuedDuring = listed.split(separator: "\n").filter { $0.contains("CN=during,") && $0.contains(" issued ") }
            #expect(issuedDuring.isEmpty, "a certificate was issued without the token:\n\(listed)")

            // Token back (its old sessions gone): the appliance logs in again by itself.
            try module.reinsert()
            try waitFor("the appliance did not recover when the token came back") { try get("/health").code == "200" }
            #expect(try get("/metrics").body.contains("rootkeeper_hsm_up 1"))
            let after = try enrol("after")
            #expect(after.code == "200", "issuance after the token returned failed: \(after.code)\n\(serve.output)")
            #expect(try verifies(after.certificate))
        }
    }
}
