import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing

@Suite("A renewal keeps the agent's identity (the real serve)")
struct RenewalIdentityServeTests {
    @Test("ATTACK: an agent's certificate renewing another hostname or another agent's UUID gets 403 naming the mismatch; nothing is issued")
    func renewalForAnotherIdentity() async throws {
        // Renewal opens at once (90-day window on 90-day certificates), so only the identity refuses.
        try await ApplianceProcess.with(extraConfiguration: "ca:\n  renew_before_days: 90\n") { app in
            let uuid = UUID().uuidString.lowercased()
            let key = try KeyAlgorithm.p256.generatePrivateKey()
            let csr = try PEMCodec.der(TestPKI.agentCSR(hostname: "web-01", uuid: uuid, key: key))
            let enrolled = try app.enrol(csrDER: csr, token: try app.requireToken(hostname: "web-01"), name: "web-01")
            let certificate = try #require(enrolled.certificate, "enrolment answered \(enrolled.status): \(enrolled.body)")
            let keyFile = app.directory.file("web-01.key")
            #expect(
                FileManager.default.createFile(
                    atPath: keyFile, contents: Data(try key.serializeAsPEM().pemString.utf8), attributes: [.posixPermissions: 0o600]))

            let otherAgent = UUID().uuidString.lowercased()
            let attempts = [
                ("other-host", try ApplianceProcess.agentCSR(hostname: "db-01", uuid: uuid), "the CSR names hostname db-01"),
                ("other-agent", try ApplianceProcess.agentCSR(hostname: "web-01", uuid: otherAgent), "the CSR names agent \(otherAgent)"),
            ]
            for (name, request, reason) in attempts {
                let refused = try app.renew(csrDER: request, certificate: certificate, key: keyFile, name: name)
                #expect(refused.status == 403, "\(name): \(refused.body)")
                #expect(refused.body.contains(reason), "\(name): \(refused.body)")
            }
            #expect(try app.sql("SELECT count(*) FROM certificates WHERE type = 'agent'") == "1\n")
            let metrics = try ExternalTool("curl").run(["-sS", "http://127.0.0.1:\(app.http)/metrics"]).stdout
            #expect(metrics.contains("rootkeeper_certificate_validation_failures_total{reason=\"reenroll_identity_mismatch\"} 2"), "\(metrics)")

            // The same certificate renews its own identity.
            let own = try app.renew(csrDER: try ApplianceProcess.agentCSR(hostname: "web-01", uuid: uuid), certificate: certificate, key: keyFile)
            #expect(own.status == 200, "\(own.body)")
        }
    }
}
