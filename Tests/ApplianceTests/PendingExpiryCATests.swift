import ApplianceKit
import Foundation
import Registration
import TestSupport
import Testing

/// Squatting at the intermediate CA with its injected clock: a tokenless registration past
/// `enrollment.pending_expiry_days` is listed as expired, cannot be approved, and the agent is
/// told why.
@Suite("Pending registrations expire at the intermediate CA")
struct PendingExpiryCATests {
    @Test("after 7 days a pending registration is listed as expired, approval is refused, and the agent learns it expired")
    func expiredRegistration() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let request = try CAHarness.agentCSR(hostname: "late.example.org")
        guard case .pending(let id, _) = try await harness.ca.enroll(csrDER: request.der, token: nil, source: "192.0.2.1") else {
            Issue.record("a tokenless enrolment must wait for approval")
            return
        }
        #expect(try await harness.ca.listAgents(caller: CAHarness.admin).map(\.summary).first?.hasPrefix("pending late.example.org") == true)
        // One second past the boundary: the store keeps `created` to the millisecond, so exactly
        // 7 days after a wall-clock start can still be a fraction of a millisecond short.
        harness.pki.clock.advance(by: 7 * 86_400 + 1)
        let listed = try await harness.ca.listAgents(caller: CAHarness.admin)
        #expect(listed.first?.summary.hasPrefix("expired late.example.org") == true, "\(listed)")
        let approval = await #expect(throws: ApplianceError.self) { _ = try await harness.ca.approveAgent(id: id, caller: CAHarness.admin) }
        #expect("\(approval.map { "\($0)" } ?? "")".contains("expired before it was approved"), "\(String(describing: approval))")
        guard case .rejected(let reason) = try await harness.ca.enroll(csrDER: request.der, token: nil, source: "192.0.2.1") else {
            Issue.record("the expired registration's agent must be told")
            return
        }
        #expect(reason.contains("was rejected by the appliance: expired: not approved within 7 days"), "\(reason)")
        #expect(try await harness.ca.listAgents(caller: CAHarness.admin).isEmpty)
    }
}
