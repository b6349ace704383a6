import CAStore
import Foundation
import Registration
import Testing

@Suite("RA renewal decisions")
struct RenewalDecisionTests {
    @Test("renewal opens 30 days before expiry; status says renew now only inside the window", arguments: Backend.allCases)
    func window(backend: Backend) async throws {
        let h = try RAHarness(backend)
        defer { h.remove() }
        let first = try await h.enrol("web1", agent: 1)
        let request = h.identity("web1", agent: 1, key: "k2")

        h.clock.advance(by: 59 * RAHarness.day)
        let early = try await h.ra.evaluateRenewal(presentedSerial: first.serial, request: request)
        #expect(early == .refused(.notYetDue(renewFrom: first.notAfter - 30 * RAHarness.day)))
        #expect(try await h.ra.status(presentedSerial: first.serial).renewNow == false)

        h.clock.advance(by: 1 * RAHarness.day)
        #expect(try await h.ra.status(presentedSerial: first.serial).renewNow == true)
        guard case .issue(let authorization) = try await h.ra.evaluateRenewal(presentedSerial: first.serial, request: request) else {
            Issue.record("renewal inside the window must be allowed")
            return
        }
        #expect(authorization.basis == .renewal(predecessorSerial: first.serial))
        let second = try await h.issue(authorization)
        #expect(second.predecessorSerial == first.serial)
        let old = try #require(try await h.store.certificate(serial: first.serial))
        #expect(old.status == .superseded)
        #expect(old.supersededAt == h.clock.now())
        #expect(try await h.store.lineage(serial: second.serial).map(\.serial) == [first.serial, second.serial])
        #expect(try await h.ra.status(presentedSerial: second.serial).renewNow == false)
    }

    @Test("a configurable window moves the renewal date", arguments: Backend.allCases)
    func configurableWindow(backend: Backend) async throws {
        let h = try RAHarness(backend, policy: RegistrationPolicy(renewBefore: 7 * RAHarness.day))
        defer { h.remove() }
        let first = try await h.enrol("web1", agent: 1)
        h.clock.advance(by: 80 * RAHarness.day)
        let decision = try await h.ra.evaluateRenewal(presentedSerial: first.serial, request: h.identity("web1", agent: 1))
        #expect(decision == .refused(.notYetDue(renewFrom: first.notAfter - 7 * RAHarness.day)))
    }

    @Test("a superseded, revoked or expired certificate cannot renew", arguments: Backend.allCases)
    func notRenewable(backend: Backend) async throws {
        let h = try RAHarness(backend)
        defer { h.remove() }
        let first = try await h.enrol("web1", agent: 1)
        h.clock.advance(by: 70 * RAHarness.day)
        guard case .issue(let authorization) = try await h.ra.evaluateRenewal(presentedSerial: first.serial, request: h.identity("web1", agent: 1))
        else {
            Issue.record("expected renewal")
            return
        }
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

    @Test("a CSR naming another hostname or UUID than the certificate's agent is refused", arguments: Backend.allCases)
    func identityMismatch(backend: Backend) async throws {
        let h = try RAHarness(backend)
        defer { h.remove() }
        let first = try await h.enrol("web1", agent: 1)
        h.clock.advance(by: 70 * RAHarness.day)
        for request in [h.identity("web9", agent: 1), h.identity("web1", agent: 5)] {
            let decision = try await h.ra.evaluateRenewal(presentedSerial: first.serial, request: request)
            guard case .refused(.identityMismatch) = decision else {
                Issue.record("expected identity mismatch for \(request.hostname)/\(request.agentID), got \(decision)")
                continue
            }
        }
    }

    @Test("a second renewal of the same certificate racing the first cannot fork the line", arguments: Backend.allCases)
    func noFork(backend: Backend) async throws {
        let h = try RAHarness(backend)
        defer { h.remove() }
        let first = try await h.enrol("web1", agent: 1)
        h.clock.advance(by: 70 * RAHarness.day)
        guard case .issue(let authorization) = try await h.ra.evaluateRenewal(presentedSerial: first.serial, request: h.identity("web1", agent: 1))
        else {
            Issue.record("expected renewal")
            return
        }
        _ = try await h.issue(authorization)
        let fork = await #expect(throws: StoreError.self) { _ = try await h.issue(authorization) }
        #expect(fork?.code == .conflict)
    }
}
