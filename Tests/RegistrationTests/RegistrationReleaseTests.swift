import CAStore
import Foundation
import PKICore
import Registration
import TestSupport
import Testing

/// Issue #12, part 7: an open registration whose agent lost its key holds the hostname; the
/// administrator's release frees it, on every store.
@Suite("RA registration release")
struct RegistrationReleaseTests {
    @Test(
        "releasing a pending or approved-but-unissued registration frees its hostname for another key and a token; audited",
        arguments: StoreKind.allCases, [false, true])
    func releaseFreesHostname(backend: StoreKind, approveFirst: Bool) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let lost = EnrollmentRequest(identity: h.identity("pend-01", agent: 1), token: nil, sourceAddress: nil)
        guard case .pending(let registration) = try await h.ra.evaluateEnrollment(lost) else {
            Issue.record("expected pending")
            return
        }
        if approveFirst { _ = try await h.ra.approve(registrationID: registration.id, by: "alice") }
        let token = try await h.ra.createToken(hostname: "pend-01", by: "admin")
        let newKey = EnrollmentRequest(identity: h.identity("pend-01", agent: 2), token: token, sourceAddress: nil)
        // Before the release the open registration holds the hostname against another key. (A
        // hostname-bound token would already win over a registration that is only pending —
        // issue #11's squatting rule, NamePolicyTests — so the hold is shown with a tokenless request.)
        let newKeyWithoutToken = EnrollmentRequest(identity: h.identity("pend-01", agent: 2), token: nil, sourceAddress: nil)
        guard case .refused(.conflict) = try await h.ra.evaluateEnrollment(newKeyWithoutToken) else {
            Issue.record("the open registration must hold the hostname before the release")
            return
        }

        let released = try await h.ra.release(registrationID: registration.id, by: "admin:uid=0", reason: "host rebuilt")
        #expect(released.status == .rejected)
        #expect(released.reason == "released, its hostname freed: host rebuilt")
        #expect(!released.isOpen)
        #expect(try await h.store.openRegistration(hostname: "pend-01") == nil)
        guard case .issue(let authorization) = try await h.ra.evaluateEnrollment(newKey) else {
            Issue.record("after the release a token enrolment must be issued")
            return
        }
        _ = try await h.issue(authorization)
        // The old key, if it returns, is told why.
        guard case .rejected(let old) = try await h.ra.evaluateEnrollment(lost) else {
            Issue.record("the released registration's agent must be refused")
            return
        }
        #expect(old.reason?.contains("host rebuilt") == true)
        // Only open registrations can be released; the store refuses a second release.
        let twice = await #expect(throws: StoreError.self) {
            _ = try await h.ra.release(registrationID: registration.id, by: "admin:uid=0", reason: "")
        }
        #expect(twice?.code == .invalidState)
        let unknown = await #expect(throws: StoreError.self) {
            _ = try await h.ra.release(registrationID: UUID(), by: "admin:uid=0", reason: "")
        }
        #expect(unknown?.code == .notFound)
        let events = try await h.store.auditEvents(afterSeq: 0, limit: 100)
        #expect(
            events.contains {
                $0.action == "registration.released" && $0.subject == registration.id.uuidString.lowercased()
                    && $0.actor == "admin:uid=0"
            })
    }
}
