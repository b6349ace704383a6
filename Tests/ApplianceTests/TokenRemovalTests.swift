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
        try await SoftHSMToken.withExclusiveToken(label: "appliance-ca") { token in
            let appliance = try await ApplianceProcess.start(harness: harness, token: token)
            defer { appliance.stop() }
            let module = try appliance.module
            func get(_ path: String) throws -> (code: String, body: String) { try appliance.get(path) }
            func waitFor(_ what: String, _ condition: () throws -> Bool) throws { try appliance.waitFor(what, condition) }
            #expect(try get("/metrics").body.contains("rootkeeper_hsm_up 1"))

            func enrol(_ name: String) throws -> (code: String, certificate: String) {
                let request = try OpenSSLAgentRequest(hostname: name, in: appliance.directory)
                let reply = try request.post(to: appliance, token: try appliance.requireToken(hostname: name), name: name)
                return (reply.code, reply.certificate ?? "")
            }
            func verifies(_ certificate: String) throws -> Bool {
                try ExternalTool("openssl").run([
                    "verify", "-CAfile", harness.state.path("ca", "root-ca.crt"),
                    "-untrusted", harness.state.path("ca", "intermediate-ca.crt"), certificate,
                ]).succeeded
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
            #expect(
                health.contains("CKR_TOKEN_NOT_PRESENT") || health.contains("no tokens are present"),
                "the reason should say the token is gone: \(health)")
            #expect(try get("/metrics").body.contains("rootkeeper_hsm_up 0"))
            let during = try enrol("during")
            #expect(during.code == "503", "issuance without the token must fail closed, got \(during.code)")
            // The listing must have worked and show what was issued before, or "nothing issued
            // during" would also pass on an empty or failed listing.
            let listing = try ProductBinary.tool("appliance").run(["certs", "list", "--state-dir", harness.state.root.path])
            try #require(listing.succeeded, "certs list failed: \(listing.output)")
            let listed = listing.stdout
            #expect(
                listed.split(separator: "\n").contains { $0.contains("CN=before,") && $0.contains(" issued ") },
                "the certificate issued before the removal is not listed:\n\(listed)")
            let issuedDuring = listed.split(separator: "\n").filter { $0.contains("CN=during,") && $0.contains(" issued ") }
            #expect(issuedDuring.isEmpty, "a certificate was issued without the token:\n\(listed)")

            // Token back (its old sessions gone): the appliance logs in again by itself.
            try module.reinsert()
            try waitFor("the appliance did not recover when the token came back") { try get("/health").code == "200" }
            #expect(try get("/metrics").body.contains("rootkeeper_hsm_up 1"))
            let after = try enrol("after")
            #expect(after.code == "200", "issuance after the token returned failed: \(after.code)\n\(appliance.output)")
            #expect(try verifies(after.certificate))
        }
    }
}
