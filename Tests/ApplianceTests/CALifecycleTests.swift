import ApplianceKit
import Foundation
import PKICore
import Registration
import TestSupport
import Testing
import X509

@Suite("Intermediate CA renewal, revocation and administration")
struct CALifecycleTests {
    @Test("re-enrolment keeps the identity, supersedes the old certificate and records the lineage")
    func renewalSupersedes() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let (first, uuid) = try await harness.enrollWithToken(hostname: "app-1")
        let client = try harness.authenticated(first)
        let csr = try CAHarness.agentCSR(hostname: "app-1", uuid: uuid)

        // Not yet inside the 30-day window: refused with when it opens.
        guard case .rejected(let early) = try await harness.ca.reenroll(csrDER: csr.der, client: client) else {
            Issue.record("renewal before the window must be refused")
            return
        }
        #expect(early.contains("not open yet"))
        #expect(try await harness.ca.agentStatus(client: client).renewNow == false)

        harness.pki.clock.set(first.notValidAfter.addingTimeInterval(-10 * 86_400))
        #expect(try await harness.ca.agentStatus(client: client).renewNow == true)
        guard case .issued(let second, _) = try await harness.ca.reenroll(csrDER: csr.der, client: client) else {
            Issue.record("renewal inside the window must be issued")
            return
        }
        #expect(AgentSubject(certificate: second) == AgentSubject(certificate: first))
        #expect(second.serialNumber != first.serialNumber)
        #expect(harness.metrics.registry.value("rootkeeper_certificates_renewed_total") == 1)

        let oldSerial = IntermediateCA.serialHex(first)
        let newSerial = IntermediateCA.serialHex(second)
        #expect(try await harness.store.certificate(serial: oldSerial)?.status == .superseded)
        let renewed = try await harness.store.certificate(serial: newSerial)
        #expect(renewed?.predecessorSerial == oldSerial)
        #expect(try await harness.store.lineage(serial: newSerial).map(\.serial) == [oldSerial, newSerial])
        #expect(try await harness.ca.agentStatus(client: client).state == "superseded")

        // A CSR naming another identity is refused for the authenticated agent.
        let other = try CAHarness.agentCSR(hostname: "app-2", uuid: uuid)
        guard case .identityMismatch(let mismatch) = try await harness.ca.reenroll(csrDER: other.der, client: try harness.authenticated(second))
        else {
            Issue.record("a renewal CSR for another hostname must be refused as an identity mismatch")
            return
        }
        #expect(mismatch.contains("hostname app-2") && mismatch.contains("app-1"), "\(mismatch)")
    }

    @Test("a revoked agent's status is revoked, its certificate fails the revocation check and it is no longer registered")
    func revokedAgent() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let (certificate, uuid) = try await harness.enrollWithToken(hostname: "lost-laptop")
        #expect(try await harness.ca.revocationStatus(of: certificate) == .good)
        #expect(try await harness.ca.registeredAgent(id: uuid) == RegisteredAgent(id: uuid, hostname: "lost-laptop"))

        let message = try await harness.ca.revokeAgent(id: uuid, reason: "keyCompromise", caller: CAHarness.admin)
        #expect(message.hasPrefix(uuid))
        let status = try await harness.ca.agentStatus(client: try harness.authenticated(certificate))
        #expect(status.state == "revoked")
        #expect(status.renewNow == false)
        #expect(try await harness.ca.revocationStatus(of: certificate) == .revoked(reason: "keyCompromise"))
        #expect(try await harness.ca.registeredAgent(id: uuid) == nil)

        // A certificate this CA never issued is unknown, not good.
        let foreign = try await harness.pki.issueAgent(hostname: "stranger")
        #expect(try await harness.ca.revocationStatus(of: foreign.certificate) == .unknown)
        let unknownReason = await #expect(throws: ApplianceError.self) {
            _ = try await harness.ca.revokeCertificate(serial: IntermediateCA.serialHex(certificate), reason: "made-up", caller: CAHarness.admin)
        }
        #expect(
            unknownReason?.code == .malformedRequest && unknownReason?.reason.hasPrefix("unknown revocation reason 'made-up'") == true,
            "\(String(describing: unknownReason))")
    }

    @Test("admin lists print one line per entry starting with the agent ID or serial, and every action is audited with the caller")
    func adminLists() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let (a, uuidA) = try await harness.enrollWithToken(hostname: "node-a")
        let (b, uuidB) = try await harness.enrollWithToken(hostname: "node-b")
        guard
            case .pending(let pendingID, _) = try await harness.ca.enroll(
                csrDER: try CAHarness.agentCSR(hostname: "node-c").der, token: nil, source: "10.1.1.1")
        else {
            Issue.record("expected pending")
            return
        }
        let agents = try await harness.ca.listAgents(caller: CAHarness.admin)
        #expect(Set(agents.map(\.id)) == [uuidA, uuidB, pendingID])
        for entry in agents {
            let line = "\(entry.id) \(entry.summary)"
            #expect(line.split(separator: " ").first.map(String.init) == entry.id)
        }
        #expect(agents.first { $0.id == pendingID }?.summary.hasPrefix("pending node-c") == true)

        let certificates = try await harness.ca.listCertificates(caller: CAHarness.admin)
        #expect(Set(certificates.map(\.id)) == [IntermediateCA.serialHex(a), IntermediateCA.serialHex(b)])
        let shown = try await harness.ca.showCertificate(serial: IntermediateCA.serialHex(a), caller: CAHarness.admin)
        #expect(shown.contains(AdminField(name: "status", value: "issued")))
        let expiring = try await harness.ca.expiringCertificates(withinDays: 120, caller: CAHarness.admin)
        #expect(expiring.count == 2)
        #expect(try await harness.ca.expiringCertificates(withinDays: 10, caller: CAHarness.admin).isEmpty)

        let revoked = try await harness.ca.revokeCertificate(serial: IntermediateCA.serialHex(b), reason: "superseded", caller: CAHarness.admin)
        #expect(revoked.hasPrefix(IntermediateCA.serialHex(b)))

        let audit = try await harness.store.auditEvents(afterSeq: 0, limit: 1000)
        for action in ["admin.agents.list", "admin.certs.list", "admin.certs.show", "admin.certs.expiring", "certificate.revoked", "token.created"] {
            #expect(audit.contains { $0.action == action && $0.actor == "admin:uid=4242" }, "\(action) must be audited with the caller")
        }
    }
}
