import CAStore
import Foundation
import Registration
import TestSupport
import Testing

@Suite("RA renewal decisions")
struct RenewalDecisionTests {
    @Test("renewal opens 30 days before expiry; status says renew now only inside the window", arguments: StoreKind.allCases)
    func window(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let first = try await h.enrol("web1", agent: 1)
        let request = h.identity("web1", agent: 1, key: "k2")

        h.clock.advance(by: 59 * RAHarness.day)
        let early = try await h.ra.evaluateRenewal(presentedSerial: first.serial, request: request)
        #expect(early == .refused(.notYetDue(renewFrom: first.notAfter - 30 * RAHarness.day)))
        #expect(try await h.ra.status(presentedSerial: first.serial).renewNow == false)

        h.clock.advance(by: 1 * RAHarness.day)
        #expect(try await h.ra.status(presentedSerial: first.serial).renewNow == true)
        let authorization = try await h.renewal(of: first.serial, request)
        #expect(authorization.basis == .renewal(predecessorSerial: first.serial))
        let second = try await h.issue(authorization)
        #expect(second.predecessorSerial == first.serial)
        let old = try #require(try await h.store.certificate(serial: first.serial))
        #expect(old.status == .superseded)
        #expect(old.supersededAt == h.clock.now())
        #expect(try await h.store.lineage(serial: second.serial).map(\.serial) == [first.serial, second.serial])
        #expect(try await h.ra.status(presentedSerial: second.serial).renewNow == false)
    }

    @Test("a configurable window moves the renewal date", arguments: StoreKind.allCases)
    func configurableWindow(backend: StoreKind) async throws {
        let h = try await RAHarness(backend, policy: RegistrationPolicy(renewBefore: 7 * RAHarness.day))
        defer { h.remove() }
        let first = try await h.enrol("web1", agent: 1)
        h.clock.advance(by: 80 * RAHarness.day)
        let decision = try await h.ra.evaluateRenewal(presentedSerial: first.serial, request: h.identity("web1", agent: 1))
        #expect(decision == .refused(.notYetDue(renewFrom: first.notAfter - 7 * RAHarness.day)))
    }

    @Test("a superseded, revoked or expired certificate cannot renew", arguments: StoreKind.allCases)
    func notRenewable(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let first = try await h.enrol("web1", agent: 1)
        h.clock.advance(by: 70 * RAHarness.day)
        let authorization = try await h.renewal(of: first.serial, h.identity("web1", agent: 1))
        _ = try await h.issue(authorization)
        let superseded = try await h.ra.evaluateRenewal(presentedSerial: first.serial, request: h.identity("web1", agent: 1))
        #expect(superseded == .refused(.notRenewable("certificate \(first.serial) was superseded by a renewal")))

        let other = try await h.enrol("web2", agent: 2)
        _ = try await h.ra.revokeCertificate(serial: other.serial, reason: .keyCompromise, by: "alice")
        let revoked = try await h.ra.evaluateRenewal(presentedSerial: other.serial, request: h.identity("web2", agent: 2))
        #expect(revoked == .refused(.notRenewable("certificate \(other.serial) is revoked")))

        let third = try await h.enrol("web3", agent: 3)
        h.clock.advance(by: 91 * RAHarness.day)
        let expired = try await h.ra.evaluateRenewal(presentedSerial: third.serial, request: h.identity("web3", agent: 3))
        #expect(expired == .refused(.notRenewable("certificate \(third.serial) is outside its validity period")))
        #expect(try await h.ra.status(presentedSerial: third.serial).renewNow == false)

        let unknown = try await h.ra.evaluateRenewal(presentedSerial: "00ff", request: h.identity("web3", agent: 3))
        #expect(unknown == .refused(.notRenewable("certificate 00ff is not known")))
    }

    @Test("a CSR naming another hostname or UUID than the certificate's agent is refused, each with its own mismatch", arguments: StoreKind.allCases)
    func identityMismatch(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let first = try await h.enrol("web1", agent: 1)
        h.clock.advance(by: 70 * RAHarness.day)
        let own = h.identity("web1", agent: 1).agentID
        let other = h.identity("web1", agent: 5).agentID
        let cases: [(RequestIdentity, IdentityMismatch, String, String)] = [
            (h.identity("web9", agent: 1), .hostname(requested: "web9", certified: "web1"), "hostname", "the CSR names hostname web9"),
            (h.identity("web1", agent: 5), .agentID(requested: other, certified: own), "agent_id", "the CSR names agent \(other)"),
            // Another agent altogether is refused as that, whatever hostname it names.
            (h.identity("web9", agent: 5), .agentID(requested: other, certified: own), "agent_id", "the CSR names agent \(other)"),
        ]
        for (request, expected, code, reason) in cases {
            let decision = try await h.ra.evaluateRenewal(presentedSerial: first.serial, request: request)
            #expect(decision == .refused(.identityMismatch(expected)), "\(request.hostname)/\(request.agentID)")
            #expect(expected.code == code)
            #expect(expected.description.contains(reason), "\(expected)")
        }
        // Nothing was reserved or issued for any of them, and the certificate still renews.
        #expect(try await h.store.certificates(agent: own).map(\.serial) == [first.serial])
        guard case .issue = try await h.ra.evaluateRenewal(presentedSerial: first.serial, request: h.identity("web1", agent: 1, key: "k2")) else {
            Issue.record("the agent's own renewal must still be allowed")
            return
        }
    }

    @Test("a second renewal of the same certificate racing the first cannot fork the line", arguments: StoreKind.allCases)
    func noFork(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let first = try await h.enrol("web1", agent: 1)
        h.clock.advance(by: 70 * RAHarness.day)
        let authorization = try await h.renewal(of: first.serial, h.identity("web1", agent: 1))
        _ = try await h.issue(authorization)
        let fork = await #expect(throws: StoreError.self) { _ = try await h.issue(authorization) }
        #expect(fork?.code == .conflict)
    }
}
