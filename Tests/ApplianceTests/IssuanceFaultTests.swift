import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing

/// Issue 12 part 2, "a failed signing leaves no trap", against the real `appliance serve` with
/// its key on a SoftHSM token: the serial is reserved before signing, so a signature that never
/// comes must give back what the reservation consumed — observed only from outside.
@Suite("A failed signing leaves no trap (real serve, SoftHSM)", .serialized)
struct IssuanceFaultTests {
    @Test("token pulled during an enrolment: 503, and once it is back the same agent enrols with the same token")
    func tokenPulledDuringEnrolment() async throws {
        let harness = try await SetupHarness.make()
        defer { harness.remove() }
        try await SoftHSMToken.withExclusiveToken(label: "appliance-ca") { token in
            let appliance = try await ApplianceProcess.start(harness: harness, token: token)
            defer { appliance.stop() }
            let secret = try appliance.requireToken(hostname: "pulled")
            let request = try OpenSSLAgentRequest(hostname: "pulled", in: appliance.directory)

            try appliance.module.remove()
            try appliance.waitFor("/health did not report the missing token") { try appliance.get("/health").code == "503" }
            let during = try request.post(to: appliance, token: secret, name: "during")
            #expect(during.code == "503", "issuance without the token must fail closed: \(during.code) \(during.body)")
            // The reservation was released at once: revoked, with the cause in the audit log.
            let reserved = try appliance.sqlValue("SELECT COUNT(*) FROM certificates WHERE status = 'reserved'")
            #expect(reserved == "0", "the failed reservation must not stay reserved")
            let released = try appliance.sqlValue("SELECT COUNT(*) FROM audit_events WHERE action = 'certificate.reservation.released'")
            #expect(released == "1")
            #expect(try appliance.sqlValue("SELECT consumed_at IS NULL FROM enrollment_tokens") == "1", "the token must not be spent")

            try appliance.module.reinsert()
            try appliance.waitUntilHealthy()
            let after = try request.post(to: appliance, token: secret, name: "after")
            #expect(after.code == "200", "the same agent with the same token must enrol once the token is back: \(after.code) \(after.body)")
            if let certificate = after.certificate {
                #expect(try opensslPairMatches(key: request.key, certificate: certificate))
                let verify = try ExternalTool("openssl").run([
                    "verify", "-CAfile", harness.state.path("ca", "root-ca.crt"),
                    "-untrusted", harness.state.path("ca", "intermediate-ca.crt"), certificate,
                ])
                #expect(verify.succeeded, "\(verify.output)")
            }
            // Now it is spent: a certificate was issued with it.
            let other = try OpenSSLAgentRequest(hostname: "pulled", in: appliance.directory, name: "replay")
            let replay = try other.post(to: appliance, token: secret, name: "replay")
            #expect(
                replay.code == "403" && replay.body.contains("enrolment token was already used"),
                "the replay must be refused because the token is spent: \(replay.code) \(replay.body)")
        }
    }

    @Test(
        "serve killed (SIGKILL) while the token hangs in C_Sign after the reservation: after a restart the renewal and the approved enrolment both work"
    )
    func killedBetweenReservationAndSignature() async throws {
        let harness = try await SetupHarness.make()
        defer { harness.remove() }
        try await SoftHSMToken.withExclusiveToken(label: "appliance-ca") { token in
            let appliance = try await ApplianceProcess.start(harness: harness, token: token)
            defer { appliance.stop() }
            // An enrolled agent (to renew) and an approved registration (to be issued).
            let agent = try OpenSSLAgentRequest(hostname: "renewer", in: appliance.directory)
            let enrolled = try agent.post(to: appliance, token: try appliance.requireToken(hostname: "renewer"), name: "renewer")
            let current = try #require(enrolled.certificate, "enrolment failed: \(enrolled.code) \(enrolled.body)")
            let waiting = try OpenSSLAgentRequest(hostname: "approved", in: appliance.directory)
            #expect(try waiting.post(to: appliance, name: "approved-pending").code == "202")
            _ = try appliance.requireAdmin(["agents", "approve", waiting.uuid])
            let renewal = try OpenSSLAgentRequest(hostname: "renewer", in: appliance.directory, uuid: agent.uuid, name: "renewer-next")

            // The token stops answering inside C_Sign: the request has reserved its serial (and, for
            // the approved registration, closed it) when serve is killed. One request at a time: a
            // signature hung in the token holds the signing path.
            func killWhileSigning(_ what: String, _ send: @escaping @Sendable () throws -> (code: String, certificate: String?, body: String))
                async throws
            {
                try appliance.module.holdSignatures()
                let hung = Task.detached { try send() }
                for _ in 0..<150 where try appliance.sqlValue("SELECT COUNT(*) FROM certificates WHERE status = 'reserved'") != "1" {
                    usleep(200_000)
                }
                let reserved = try appliance.sqlValue("SELECT COUNT(*) FROM certificates WHERE status = 'reserved'")
                appliance.kill()
                let answer = try await hung.value
                try appliance.module.releaseSignatures()
                try #require(reserved == "1", "the \(what) did not reserve before hanging: \(answer.code) \(answer.body)")
                // curl reports 000 when the connection closes without any HTTP response: the
                // process died holding the request, and no status (error or success) was sent.
                #expect(answer.code == "000", "nothing was signed, nothing may be returned: \(answer.code) \(answer.body)")
                try appliance.restart()
                #expect(
                    try appliance.sqlValue("SELECT COUNT(*) FROM certificates WHERE status = 'reserved'") == "0",
                    "the reservation of the killed process must be resolved before serving")
            }

            try await killWhileSigning("renewal") {
                try renewal.post(to: appliance, route: "simplereenroll", clientCertificate: (current, agent.key), name: "hung-renewal")
            }
            let renewed = try renewal.post(to: appliance, route: "simplereenroll", clientCertificate: (current, agent.key), name: "renewed")
            #expect(renewed.code == "200", "renewal after the restart: \(renewed.code) \(renewed.body)")
            if let certificate = renewed.certificate { #expect(try opensslPairMatches(key: renewal.key, certificate: certificate)) }

            try await killWhileSigning("approved enrolment") { try waiting.post(to: appliance, name: "hung-approved") }
            let issued = try waiting.post(to: appliance, name: "approved-issued")
            #expect(issued.code == "200", "approved enrolment after the restart: \(issued.code) \(issued.body)")
            if let certificate = issued.certificate { #expect(try opensslPairMatches(key: waiting.key, certificate: certificate)) }
            #expect(try appliance.sqlValue("SELECT COUNT(*) FROM audit_events WHERE action = 'certificate.reservation.released'") == "2")
        }
    }
}
