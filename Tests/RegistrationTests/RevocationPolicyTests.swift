import CAStore
import Foundation
import Registration
import TestSupport
import Testing

@Suite("RA revocation and supersession policy")
struct RevocationPolicyTests {
    /// Enrols, moves into the renewal window and renews once; returns (old, new).
    func renewedOnce(_ h: RAHarness) async throws -> (CertificateRecord, CertificateRecord) {
        let first = try await h.enrol("web1", agent: 1)
        h.clock.advance(by: 70 * RAHarness.day)
        return (first, try await h.issue(try await h.renewal(of: first.serial, h.identity("web1", agent: 1))))
    }

    @Test("a superseded certificate is revoked with reason superseded 24 hours after renewal", arguments: StoreKind.allCases)
    func supersededAfter24h(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let (old, new) = try await renewedOnce(h)
        h.clock.advance(by: 23 * 3_600)
        #expect(try await h.ra.supersededDueForRevocation().isEmpty)
        #expect(try await h.ra.revokeDueSuperseded().isEmpty)

        h.clock.advance(by: 3_600)
        #expect(try await h.ra.supersededDueForRevocation().map(\.serial) == [old.serial])
        let results = try await h.ra.revokeDueSuperseded()
        #expect(results.map(\.record.serial) == [old.serial])
        #expect(results.first?.record.reason == .superseded)
        #expect(try await h.store.revocationStatus(serial: old.serial) == .revoked(results[0].record))
        guard case .notRevoked = try await h.store.revocationStatus(serial: new.serial) else {
            Issue.record("the new certificate must stay valid")
            return
        }
        #expect(try await h.ra.revokeDueSuperseded().isEmpty)  // nothing left to do
    }

    @Test("with revoke-superseded-after off, superseded certificates are never revoked by policy", arguments: StoreKind.allCases)
    func policyOff(backend: StoreKind) async throws {
        let h = try await RAHarness(backend, policy: RegistrationPolicy(revokeSupersededAfter: nil))
        defer { h.remove() }
        let (old, _) = try await renewedOnce(h)
        h.clock.advance(by: 10 * RAHarness.day)
        #expect(try await h.ra.revokeDueSuperseded().isEmpty)
        #expect(try await h.store.certificate(serial: old.serial)?.status == .superseded)
    }

    @Test("revoking an agent revokes its whole line and stops it renewing or re-enrolling", arguments: StoreKind.allCases)
    func revokeAgent(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let (old, new) = try await renewedOnce(h)
        let agentID = h.identity("web1", agent: 1).agentID
        let results = try await h.ra.revokeAgent(agentID, reason: .cessationOfOperation, by: "alice")
        #expect(Set(results.map(\.record.serial)) == [old.serial, new.serial])
        #expect(results.allSatisfy { $0.newlyRevoked && $0.record.reason == .cessationOfOperation })
        #expect(try await h.store.agent(agentID)?.status == .revoked)
        for serial in [old.serial, new.serial] {
            guard case .revoked = try await h.store.revocationStatus(serial: serial) else {
                Issue.record("\(serial) must be revoked")
                continue
            }
        }
        let renewal = try await h.ra.evaluateRenewal(presentedSerial: new.serial, request: h.identity("web1", agent: 1))
        #expect(renewal == .refused(.notRenewable("certificate \(new.serial) is revoked")))
        let token = try await h.ra.createToken(hostname: nil, by: "admin")
        let again = try await h.ra.evaluateEnrollment(EnrollmentRequest(identity: h.identity("web1", agent: 1), token: token, sourceAddress: nil))
        #expect(again == .refused(.agentRevoked(agentID)))
        #expect(try await h.store.revocations(issuerSKI: RAHarness.issuer, afterSerial: nil, limit: 10).count == 2)
        guard case .intact = try await h.store.verifyAuditChain() else {
            Issue.record("the audit chain must verify after the whole flow")
            return
        }
    }

    @Test("a certificate signed while its agent was being revoked is recorded and revoked at once, and not handed out", arguments: StoreKind.allCases)
    func revokedDuringSigning(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let first = try await h.enrol("web1", agent: 1)
        h.clock.advance(by: 70 * RAHarness.day)
        let authorization = try await h.renewal(of: first.serial, h.identity("web1", agent: 1))
        let draft = CertificateRecord(
            serial: "01abcdef", issuerSKI: RAHarness.issuer, type: .agent, subject: "CN=x",
            notBefore: h.clock.now(), notAfter: h.clock.now() + 90 * RAHarness.day,
            tbsSHA256: "00", reservedAt: h.clock.now())
        _ = try await h.ra.reserveIssuance(authorization, certificate: draft)
        _ = try await h.ra.revokeAgent(authorization.identity.agentID, reason: .keyCompromise, by: "alice")
        // Recorded, revoked in the same transaction, and not handed out.
        guard case .revoked(let recorded, let revocation) = try await h.ra.completeIssuance(serial: "01abcdef", certificateDER: [0x30, 0x00]) else {
            Issue.record("a certificate signed for a revoked agent must not be reported as issued")
            return
        }
        #expect(recorded.certificateDER == [0x30, 0x00])
        #expect(revocation.record.serial == "01abcdef")
        guard case .revoked = try await h.store.revocationStatus(serial: "01abcdef") else {
            Issue.record("the late certificate must be revoked")
            return
        }
    }
}
