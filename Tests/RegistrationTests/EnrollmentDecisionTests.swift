import CAStore
import Foundation
import PKICore
import Registration
import TestSupport
import Testing

@Suite("RA enrolment decisions")
struct EnrollmentDecisionTests {
    @Test("a valid token issues immediately and cannot be used again", arguments: StoreKind.allCases)
    func tokenEnrolment(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let token = try await h.ra.createToken(hostname: nil, by: "admin")
        #expect(try await h.store.token(sha256: token) == nil)  // only the digest is stored
        let request = EnrollmentRequest(identity: h.identity("web1", agent: 1), token: token, sourceAddress: nil)
        guard case .issue(let authorization) = try await h.ra.evaluateEnrollment(request) else {
            Issue.record("a valid token must issue")
            return
        }
        let certificate = try await h.issue(authorization)
        #expect(certificate.status == .issued)
        #expect(try await h.store.agent(h.identity("web1", agent: 1).agentID)?.status == .active)

        let replay = try await h.ra.evaluateEnrollment(EnrollmentRequest(identity: h.identity("web2", agent: 2), token: token, sourceAddress: nil))
        #expect(replay == .refused(.invalidToken("enrolment token was already used")))
        // The same authorisation presented twice (a race past the decision) fails at reservation.
        let second = await #expect(throws: StoreError.self) { _ = try await h.issue(authorization) }
        #expect(second?.code == .tokenUnavailable)
    }

    @Test("unknown, expired and hostname-bound tokens are refused", arguments: StoreKind.allCases)
    func badTokens(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let unknown = try await h.ra.evaluateEnrollment(EnrollmentRequest(identity: h.identity("a", agent: 1), token: "nope", sourceAddress: nil))
        #expect(unknown == .refused(.invalidToken("unknown enrolment token")))

        let bound = try await h.ra.createToken(hostname: "db1", by: "admin")
        let foreign = try await h.ra.evaluateEnrollment(EnrollmentRequest(identity: h.identity("db2", agent: 2), token: bound, sourceAddress: nil))
        #expect(foreign == .refused(.invalidToken("enrolment token is bound to another hostname")))

        h.clock.advance(by: h.ra.policy.tokenLifetime)
        let expired = try await h.ra.evaluateEnrollment(EnrollmentRequest(identity: h.identity("db1", agent: 3), token: bound, sourceAddress: nil))
        #expect(expired == .refused(.invalidToken("enrolment token expired")))
    }

    @Test("without a token a request waits as pending; resubmitting returns the same entry", arguments: StoreKind.allCases)
    func pending(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let request = EnrollmentRequest(identity: h.identity("web1", agent: 1), token: nil, sourceAddress: "198.51.100.7")
        guard case .pending(let first) = try await h.ra.evaluateEnrollment(request) else {
            Issue.record("a tokenless request must be pending")
            return
        }
        #expect(first.sourceAddress == "198.51.100.7")
        #expect(first.csrDER == request.identity.csrDER)
        h.clock.advance(by: 60)
        #expect(try await h.ra.evaluateEnrollment(request) == .pending(first))
        #expect(try await h.store.registrations(status: .pending).count == 1)

        // Same hostname, different agent or different key: a conflict, not a second entry.
        let otherAgent = EnrollmentRequest(identity: h.identity("web1", agent: 2), token: nil, sourceAddress: nil)
        #expect(try await h.ra.evaluateEnrollment(otherAgent) == .refused(.conflict(first)))
        let otherKey = EnrollmentRequest(identity: h.identity("web1", agent: 1, key: "k2"), token: nil, sourceAddress: nil)
        #expect(try await h.ra.evaluateEnrollment(otherKey) == .refused(.conflict(first)))
        // Even a valid token does not let another agent take a hostname that is waiting for approval.
        let token = try await h.ra.createToken(hostname: nil, by: "admin")
        let withToken = EnrollmentRequest(identity: h.identity("web1", agent: 3), token: token, sourceAddress: nil)
        #expect(try await h.ra.evaluateEnrollment(withToken) == .refused(.conflict(first)))
    }

    @Test("concurrent first requests for one hostname leave one pending entry and a conflict", arguments: StoreKind.allCases)
    func concurrentRegistration(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let ra = h.ra
        let requests = (1...6).map { EnrollmentRequest(identity: h.identity("race", agent: $0), token: nil, sourceAddress: nil) }
        let decisions = try await withThrowingTaskGroup(of: EnrollmentDecision.self) { group in
            for request in requests { group.addTask { try await ra.evaluateEnrollment(request) } }
            return try await group.reduce(into: [EnrollmentDecision]()) { $0.append($1) }
        }
        let pending = decisions.filter { if case .pending = $0 { true } else { false } }
        let conflicts = decisions.filter { if case .refused(.conflict) = $0 { true } else { false } }
        #expect(pending.count == 1)
        #expect(conflicts.count == 5)
        #expect(try await h.store.registrations(status: nil).count == 1)
    }

    @Test("after approval the same request is issued, and later repeats get the same certificate", arguments: StoreKind.allCases)
    func approval(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let request = EnrollmentRequest(identity: h.identity("web1", agent: 1), token: nil, sourceAddress: nil)
        guard case .pending(let registration) = try await h.ra.evaluateEnrollment(request) else {
            Issue.record("expected pending")
            return
        }
        let approved = try await h.ra.approve(registrationID: registration.id, by: "alice")
        #expect(approved.status == .approved)
        #expect(approved.decidedBy == "alice")
        guard case .issue(let authorization) = try await h.ra.evaluateEnrollment(request) else {
            Issue.record("an approved request must be issued")
            return
        }
        #expect(authorization.basis == .registration(registration.id))
        let certificate = try await h.issue(authorization)
        #expect(try await h.ra.evaluateEnrollment(request) == .alreadyIssued(certificate))
        #expect(try await h.store.registration(registration.id)?.issuedSerial == certificate.serial)
        let twice = await #expect(throws: StoreError.self) { _ = try await h.ra.approve(registrationID: registration.id, by: "bob") }
        #expect(twice?.code == .invalidState)
    }

    @Test("a rejected request is refused with the administrator's reason", arguments: StoreKind.allCases)
    func rejection(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let request = EnrollmentRequest(identity: h.identity("rogue", agent: 9), token: nil, sourceAddress: nil)
        guard case .pending(let registration) = try await h.ra.evaluateEnrollment(request) else {
            Issue.record("expected pending")
            return
        }
        _ = try await h.ra.reject(registrationID: registration.id, by: "alice", reason: "unknown machine")
        guard case .rejected(let rejected) = try await h.ra.evaluateEnrollment(request) else {
            Issue.record("a rejected request must stay rejected")
            return
        }
        #expect(rejected.reason == "unknown machine")
        #expect(rejected.decidedBy == "alice")
        let late = await #expect(throws: StoreError.self) { _ = try await h.ra.approve(registrationID: registration.id, by: "bob") }
        #expect(late?.code == .invalidState)
        #expect(try await h.store.verifyAuditChain() == .intact(count: 2, headHash: try await h.store.auditEvents(afterSeq: 1, limit: 1)[0].hash))
    }
}

/// Random bytes chosen so plain base64url would start with "-" (0xFB → "-_…").
private struct DashFirstRandom: RandomSource {
    func bytes(_ count: Int) -> [UInt8] { Array(repeating: 0xFB, count: count) }
}

@Suite("One-time enrolment tokens")
struct EnrollmentTokenFormatTests {
    @Test("a token never starts with '-', so command lines do not take it for an option, and it still authorises enrolment")
    func tokenPrefix() async throws {
        let h = try await RAHarness(.inMemory)
        defer { h.remove() }
        let ra = RegistrationAuthority(store: h.store, clock: h.clock, random: DashFirstRandom(), policy: RegistrationPolicy(), events: .unobserved)
        let token = try await ra.createToken(hostname: nil, by: "admin")
        #expect(token.hasPrefix(RegistrationAuthority.tokenPrefix))
        #expect(token.dropFirst(RegistrationAuthority.tokenPrefix.count).hasPrefix("-_"), "the test must exercise a dash-first body")
        #expect(token.count == RegistrationAuthority.tokenPrefix.count + 43)
        let decision = try await ra.evaluateEnrollment(EnrollmentRequest(identity: h.identity("web-7", agent: 7), token: token, sourceAddress: nil))
        guard case .issue = decision else {
            Issue.record("a prefixed token must authorise enrolment, got \(decision)")
            return
        }
    }
}
