import CAStore
import Foundation
import PKICore
import Registration
import TestSupport
import Testing

/// Issue #11 at the RA: one name is one agent whatever its case, the appliance's own names are
/// never handed out, and a tokenless request cannot hold a hostname forever (expiry with the
/// injected clock, token wins, per-source bound).
@Suite("RA name policy: case, reserved names, squatting")
struct NamePolicyTests {
    static let week: TimeInterval = 7 * RAHarness.day

    @Test("a mixed-case second enrolment of an active hostname is refused, with and without a token", arguments: StoreKind.allCases)
    func mixedCaseSecondEnrolment(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        _ = try await h.enrol("db3.example.org", agent: 1)
        let upper = try await h.ra.createToken(hostname: nil, by: "admin")
        let withToken = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("DB3.example.org", agent: 2, key: "k2"), token: upper, sourceAddress: nil))
        guard case .refused(.alreadyEnrolled(let reason)) = withToken else {
            Issue.record("expected alreadyEnrolled, got \(withToken)")
            return
        }
        #expect(reason.contains("hostname db3.example.org belongs to active agent"), "\(reason)")
        let tokenless = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("Db3.Example.Org", agent: 3, key: "k3"), token: nil, sourceAddress: "10.0.0.9"))
        guard case .refused(.alreadyEnrolled) = tokenless else {
            Issue.record("expected alreadyEnrolled, got \(tokenless)")
            return
        }
        #expect(try await h.store.agents(hostname: "db3.example.org").count == 1)
        // A token bound in upper case binds the canonical name.
        let bound = try await h.ra.createToken(hostname: "WEB1.Example.Org", by: "admin")
        let decision = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("web1.example.org", agent: 4), token: bound, sourceAddress: nil))
        guard case .issue(let authorization) = decision else {
            Issue.record("expected issue, got \(decision)")
            return
        }
        #expect(authorization.identity.hostname == "web1.example.org")
    }

    @Test("a mixed-case tokenless request for a pending hostname is a conflict, not a second registration", arguments: StoreKind.allCases)
    func mixedCasePending(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let first = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("app1", agent: 1), token: nil, sourceAddress: "10.0.0.1"))
        guard case .pending(let registration) = first else {
            Issue.record("expected pending, got \(first)")
            return
        }
        let second = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("APP1", agent: 2), token: nil, sourceAddress: "10.0.0.2"))
        #expect(second == .refused(.conflict(registration)))
        // The same agent resubmitting in another case is the same request.
        let again = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("App1", agent: 1), token: nil, sourceAddress: "10.0.0.1"))
        #expect(again == .pending(registration))
    }

    @Test("the appliance's own names are refused for tokens, enrolment, approval and renewal", arguments: StoreKind.allCases)
    func reservedNames(backend: StoreKind) async throws {
        let policy = RegistrationPolicy(reservedNames: ["localhost", "EST.example.test", "127.0.0.1"])
        let h = try await RAHarness(backend, policy: policy)
        defer { h.remove() }
        for name in ["localhost", "LocalHost", "est.example.test"] {
            let error = await #expect(throws: RefusalError.self) { _ = try await h.ra.createToken(hostname: name, by: "admin") }
            #expect(error?.refusal == .reservedName(NameSyntax.asciiLowercased(name)))
        }
        let invalid = await #expect(throws: RefusalError.self) { _ = try await h.ra.createToken(hostname: "bad_name", by: "admin") }
        guard case .invalidHostname(let reason)? = invalid?.refusal else {
            Issue.record("expected invalidHostname")
            return
        }
        #expect(reason.contains("'bad_name' is not a valid host name"))

        let unbound = try await h.ra.createToken(hostname: nil, by: "admin")
        let byToken = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("Est.Example.Test", agent: 1), token: unbound, sourceAddress: nil))
        #expect(byToken == .refused(.reservedName("est.example.test")))
        let tokenless = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("localhost", agent: 2), token: nil, sourceAddress: "10.0.0.1"))
        #expect(tokenless == .refused(.reservedName("localhost")))
        // The token was not consumed by the refused request.
        #expect(try await h.store.token(sha256: EnrollmentToken.digest(of: unbound))?.consumedAt == nil)

        // Registered and enrolled before the name became the appliance's: approval and renewal refuse.
        let before = RegistrationAuthority(store: h.store, clock: h.clock, random: h.random, policy: RegistrationPolicy(), events: .unobserved)
        let pending = try await before.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("api.example.test", agent: 3), token: nil, sourceAddress: "10.0.0.1"))
        guard case .pending(let registration) = pending else {
            Issue.record("expected pending, got \(pending)")
            return
        }
        let enrolledToken = try await before.createToken(hostname: "ocsp.example.test", by: "admin")
        guard
            case .issue(let authorization) = try await before.evaluateEnrollment(
                EnrollmentRequest(identity: h.identity("ocsp.example.test", agent: 4), token: enrolledToken, sourceAddress: nil))
        else {
            Issue.record("expected issue")
            return
        }
        let certificate = try await h.issue(authorization)
        let after = RegistrationAuthority(
            store: h.store, clock: h.clock, random: h.random,
            policy: RegistrationPolicy(reservedNames: ["api.example.test", "ocsp.example.test"]),
            events: .unobserved)
        let approval = await #expect(throws: RefusalError.self) { _ = try await after.approve(registrationID: registration.id, by: "admin") }
        #expect(approval?.refusal == .reservedName("api.example.test"))
        #expect(try await h.store.registration(registration.id)?.status == .pending)
        h.clock.advance(by: 80 * RAHarness.day)
        let renewal = try await after.evaluateRenewal(presentedSerial: certificate.serial, request: h.identity("ocsp.example.test", agent: 4))
        #expect(renewal == .refused(.reservedName("ocsp.example.test")))
    }

    @Test("a pending registration expires after the configured lifetime (injected clock) and frees its hostname", arguments: StoreKind.allCases)
    func pendingExpiry(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let squat = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("build7", agent: 1), token: nil, sourceAddress: "10.0.0.1"))
        guard case .pending(let registration) = squat else {
            Issue.record("expected pending, got \(squat)")
            return
        }
        h.clock.advance(by: Self.week - 1)
        let early = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("build7", agent: 2), token: nil, sourceAddress: "10.0.0.2"))
        #expect(early == .refused(.conflict(registration)), "one second before expiry the hostname is still held")
        h.clock.advance(by: 1)
        let late = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("build7", agent: 2), token: nil, sourceAddress: "10.0.0.2"))
        guard case .pending(let fresh) = late else {
            Issue.record("expected a new pending registration, got \(late)")
            return
        }
        #expect(fresh.agentID == h.identity("build7", agent: 2).agentID)
        let expired = try #require(try await h.store.registration(registration.id))
        #expect(expired.status == .rejected)
        #expect(expired.decidedBy == RegistrationAuthority.systemActor)
        #expect(expired.reason?.hasPrefix("expired: not approved within 7 days") == true, "\(expired.reason ?? "")")
        // The first agent polling again learns its registration expired.
        let poll = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("build7", agent: 1), token: nil, sourceAddress: "10.0.0.1"))
        #expect(poll == .rejected(expired))
        // An administrator cannot approve a registration that has expired.
        h.clock.advance(by: Self.week)
        let approval = await #expect(throws: RefusalError.self) { _ = try await h.ra.approve(registrationID: fresh.id, by: "admin") }
        guard case .registrationExpired(let which)? = approval?.refusal else {
            Issue.record("expected registrationExpired")
            return
        }
        #expect(which.id == fresh.id)
        #expect(try await h.store.registration(fresh.id)?.status == .rejected)
    }

    @Test("the lifetime is configurable", arguments: StoreKind.allCases)
    func configurableLifetime(backend: StoreKind) async throws {
        let h = try await RAHarness(backend, policy: RegistrationPolicy(pendingLifetime: 3600))
        defer { h.remove() }
        _ = try await h.ra.evaluateEnrollment(EnrollmentRequest(identity: h.identity("short", agent: 1), token: nil, sourceAddress: "10.0.0.1"))
        h.clock.advance(by: 3600)
        let next = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("short", agent: 2), token: nil, sourceAddress: "10.0.0.1"))
        guard case .pending = next else {
            Issue.record("expected pending after one hour, got \(next)")
            return
        }
        let poll = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("short", agent: 1), token: nil, sourceAddress: "10.0.0.1"))
        guard case .rejected(let expired) = poll else {
            Issue.record("expected the first to be expired, got \(poll)")
            return
        }
        #expect(expired.reason == "expired: not approved within 1 hour; enrol again, or with a token")
    }

    @Test(
        "a hostname-bound token wins over a tokenless pending squatter, which is rejected; an unbound token does not", arguments: StoreKind.allCases)
    func tokenWinsOverSquatter(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let squat = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("pay1", agent: 66), token: nil, sourceAddress: "10.6.6.6"))
        guard case .pending(let squatter) = squat else {
            Issue.record("expected pending, got \(squat)")
            return
        }
        let unbound = try await h.ra.createToken(hostname: nil, by: "admin")
        let refused = try await h.ra.evaluateEnrollment(EnrollmentRequest(identity: h.identity("pay1", agent: 1), token: unbound, sourceAddress: nil))
        #expect(refused == .refused(.conflict(squatter)))

        let bound = try await h.ra.createToken(hostname: "PAY1", by: "admin")
        let decision = try await h.ra.evaluateEnrollment(EnrollmentRequest(identity: h.identity("pay1", agent: 1), token: bound, sourceAddress: nil))
        guard case .issue(let authorization) = decision else {
            Issue.record("expected issue, got \(decision)")
            return
        }
        _ = try await h.issue(authorization)
        let rejected = try #require(try await h.store.registration(squatter.id))
        #expect(rejected.status == .rejected)
        #expect(rejected.decidedBy == RegistrationAuthority.systemActor)
        #expect(rejected.reason == "superseded: an enrolment token bound to pay1 was presented")
        let poll = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("pay1", agent: 66), token: nil, sourceAddress: "10.6.6.6"))
        #expect(poll == .rejected(rejected))
    }

    @Test("one source address holds at most the configured number of pending registrations", arguments: StoreKind.allCases)
    func perSourceBound(backend: StoreKind) async throws {
        let h = try await RAHarness(backend, policy: RegistrationPolicy(maxPendingPerSource: 2))
        defer { h.remove() }
        for n in 1...2 {
            let decision = try await h.ra.evaluateEnrollment(
                EnrollmentRequest(identity: h.identity("host\(n)", agent: n), token: nil, sourceAddress: "10.0.0.1"))
            guard case .pending = decision else {
                Issue.record("expected pending, got \(decision)")
                return
            }
        }
        let third = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("host3", agent: 3), token: nil, sourceAddress: "10.0.0.1"))
        #expect(third == .refused(.tooManyPending(source: "10.0.0.1", limit: 2)))
        let elsewhere = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("host3", agent: 3), token: nil, sourceAddress: "10.0.0.2"))
        guard case .pending = elsewhere else {
            Issue.record("another source must still register, got \(elsewhere)")
            return
        }
        // Polling an existing registration is not a new one and is never refused by the bound.
        let poll = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("host1", agent: 1), token: nil, sourceAddress: "10.0.0.1"))
        guard case .pending = poll else {
            Issue.record("expected the poll to stay pending, got \(poll)")
            return
        }
        // Expired registrations no longer count.
        h.clock.advance(by: Self.week)
        let later = try await h.ra.evaluateEnrollment(
            EnrollmentRequest(identity: h.identity("host4", agent: 4), token: nil, sourceAddress: "10.0.0.1"))
        guard case .pending = later else {
            Issue.record("expected pending after expiry, got \(later)")
            return
        }
    }
}
