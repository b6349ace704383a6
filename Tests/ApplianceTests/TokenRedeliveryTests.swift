import ApplianceKit
import Foundation
import PKICore
import Registration
import TestSupport
import Testing
import X509

/// Issue 12 part 2: a token is spent only by an issued certificate — and if the answer carrying
/// that certificate was lost, the same agent with the same key and token gets it again for a
/// short window, instead of being locked out with a spent token (real CA, SQLite file).
@Suite("A token enrolment whose answer was lost")
struct TokenRedeliveryTests {
    @Test("the same agent, key and token get the same certificate again; another key, or after the window, is refused")
    func redelivered() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let token = try await harness.ca.createToken(hostname: "lost-answer", caller: CAHarness.admin)
        let request = try CAHarness.agentCSR(hostname: "lost-answer")
        guard case .issued(let first, _) = try await harness.ca.enroll(csrDER: request.der, token: token, source: "127.0.0.1") else {
            Issue.record("enrolment failed")
            return
        }
        // The answer is lost; the agent sends the same request again.
        guard case .issued(let again, _) = try await harness.ca.enroll(csrDER: request.der, token: token, source: "127.0.0.1") else {
            Issue.record("the same request must get the certificate already issued")
            return
        }
        #expect(again == first)
        #expect(try await harness.store.certificates(type: .agent).count == 1, "nothing new was signed")
        let audit = try await harness.store.auditEvents(afterSeq: 0, limit: 100).map(\.action)
        #expect(audit.filter { $0 == "certificate.redelivered" }.count == 1)

        // Same agent and token, another key: refused (the token is spent).
        let otherKey = try CAHarness.agentCSR(hostname: "lost-answer", uuid: request.uuid)
        guard case .rejected(let reason) = try await harness.ca.enroll(csrDER: otherKey.der, token: token, source: "127.0.0.1") else {
            Issue.record("another key must not get the certificate")
            return
        }
        #expect(reason.contains("already used"), "\(reason)")

        // After the window, even the same request is refused.
        harness.pki.clock.set(harness.pki.clock.now() + 2 * 3600)
        guard case .rejected = try await harness.ca.enroll(csrDER: request.der, token: token, source: "127.0.0.1") else {
            Issue.record("re-delivery is limited to a short window")
            return
        }
    }
}
