import CAStore
import Foundation
import Registration
import TestSupport
import Testing

/// The operations that decide inside the write transaction (issue 12 parts 2 and 5): release of
/// an unfinished reservation, completion that refuses to hand out a revoked agent's certificate,
/// and an agent revocation whose line is read at commit.
@Suite("Reservation operations conformance")
struct ReservationOperationConformanceTests {
    @Test("releasing a reservation revokes its serial, gives its token back and re-opens its registration", arguments: StoreKind.allCases)
    func release(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        let agent = Sample.agent(1)
        let token = Sample.token("t-release", hostname: agent.hostname)
        let registration = PendingRegistration(
            id: UUID(), hostname: "host2.example", agentID: Sample.agentID(2), csrDER: [1],
            spkiSHA256: "aa", sourceAddress: nil, created: Sample.t0)
        _ = try await store.perform([
            .insertToken(token), .insertRegistration(registration),
            .decideRegistration(id: registration.id, to: .approved, by: "admin", reason: nil, at: Sample.t0),
        ])
        _ = try await store.perform([
            .consumeToken(tokenSHA256: token.tokenSHA256, hostname: agent.hostname, at: Sample.t0, forSerial: "d1"),
            .ensureAgent(agent), .reserveCertificate(Sample.certificate("d1", agent: agent.id)),
        ])
        _ = try await store.perform([
            .markRegistrationIssued(id: registration.id, serial: "d2"),
            .ensureAgent(Sample.agent(2, hostname: "host2.example")),
            .reserveCertificate(Sample.certificate("d2", agent: Sample.agentID(2))),
        ])
        #expect(try await store.token(sha256: token.tokenSHA256)?.consumedAt != nil)
        #expect(try await store.token(sha256: token.tokenSHA256)?.reservedSerial == "d1")
        #expect(try await store.openRegistration(hostname: "host2.example") == nil)

        let first = try await store.perform([.releaseReservation(serial: "d1", at: Sample.t0 + 5)])
        guard case .released(let d1) = first.first else {
            Issue.record("expected a release result")
            return
        }
        #expect(d1.restoredToken == token.tokenSHA256)
        #expect(d1.reopenedRegistration == nil)
        #expect(d1.revocation.newlyRevoked)
        #expect(try await store.token(sha256: token.tokenSHA256)?.consumedAt == nil)
        #expect(try await store.token(sha256: token.tokenSHA256)?.reservedSerial == nil)
        #expect(try await store.certificate(serial: "d1")?.status == .revoked)
        guard case .revoked = try await store.revocationStatus(serial: "d1") else {
            Issue.record("d1 must be revoked")
            return
        }

        let second = try await store.perform([.releaseReservation(serial: "d2", at: Sample.t0 + 5)])
        guard case .released(let d2) = second.first else {
            Issue.record("expected a release result")
            return
        }
        #expect(d2.restoredToken == nil)
        #expect(d2.reopenedRegistration == registration.id)
        #expect(try await store.openRegistration(hostname: "host2.example")?.id == registration.id)

        // The token is usable again, and is now bound to no reservation: a second release gives nothing back.
        _ = try await store.consumeToken(sha256: token.tokenSHA256, hostname: agent.hostname, at: Sample.t0 + 6)
        let again = try await store.perform([.releaseReservation(serial: "d1", at: Sample.t0 + 7)])
        guard case .released(let repeated) = again.first else {
            Issue.record("expected a release result")
            return
        }
        #expect(repeated.restoredToken == nil)
        #expect(!repeated.revocation.newlyRevoked)
        #expect(try await store.token(sha256: token.tokenSHA256)?.consumedAt != nil)
    }

    @Test("a completed issuance is never released, and nothing in its unit is written", arguments: StoreKind.allCases)
    func completedIsNotReleased(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        let agent = Sample.agent(1)
        _ = try await store.perform([
            .ensureAgent(agent), .reserveCertificate(Sample.certificate("e1", agent: agent.id)),
            .recordIssued(serial: "e1", certificateDER: [0x30, 0x00], at: Sample.t0),
        ])
        let error = await storeError {
            _ = try await store.perform([
                .releaseReservation(serial: "e1", at: Sample.t0 + 1),
                .audit(AuditEntry(time: Sample.t0, actor: "t", action: "certificate.reservation.released", subject: "e1", details: [:])),
            ])
        }
        #expect(error?.code == .invalidState)
        #expect(try await store.certificate(serial: "e1")?.status == .issued)
        #expect(try await store.auditEvents(afterSeq: 0, limit: 10).isEmpty)
        let unknown = await storeError { _ = try await store.perform([.releaseReservation(serial: "eeee", at: Sample.t0)]) }
        #expect(unknown?.code == .notFound)
    }

    @Test(
        "completion supersedes the predecessor, or — for a revoked agent — records, revokes and leaves the predecessor alone",
        arguments: StoreKind.allCases)
    func completion(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        let agent = Sample.agent(1)
        _ = try await store.perform([
            .ensureAgent(agent), .reserveCertificate(Sample.certificate("f1", agent: agent.id)),
            .recordIssued(serial: "f1", certificateDER: [1], at: Sample.t0),
            .reserveCertificate(Sample.certificate("f2", agent: agent.id, predecessor: "f1")),
        ])
        let done = try await store.perform([
            .completeReservation(serial: "f2", certificateDER: [2], at: Sample.t0 + 1, reasonIfRevoked: .privilegeWithdrawn)
        ])
        guard case .completed(let f2, nil) = done.first else {
            Issue.record("f2 must complete unrevoked: \(done)")
            return
        }
        #expect(f2.status == .issued)
        #expect(try await store.certificate(serial: "f1")?.status == .superseded)

        // Reserved, then the agent is revoked (by the plain operation, which does not touch the
        // line), then the signature is recorded: the decision is made at commit.
        _ = try await store.perform([.reserveCertificate(Sample.certificate("f3", agent: agent.id, predecessor: "f2"))])
        _ = try await store.perform([.revokeAgent(agent.id, at: Sample.t0 + 2)])
        let late = try await store.perform([
            .completeReservation(serial: "f3", certificateDER: [3], at: Sample.t0 + 3, reasonIfRevoked: .privilegeWithdrawn)
        ])
        guard case .completed(let f3, let revocation?) = late.first else {
            Issue.record("f3 must be revoked: \(late)")
            return
        }
        #expect(f3.status == .revoked)
        #expect(f3.certificateDER == [3])
        #expect(revocation.record.reason == .privilegeWithdrawn)
        #expect(try await store.certificate(serial: "f2")?.status == .issued, "a refused successor supersedes nothing")
    }

    @Test("revoking an agent's line reads the line inside the transaction: every certificate, reservations included", arguments: StoreKind.allCases)
    func revokeLine(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        let agent = Sample.agent(1)
        _ = try await store.perform([
            .ensureAgent(agent), .ensureAgent(Sample.agent(2)),
            .reserveCertificate(Sample.certificate("g1", agent: agent.id)),
            .recordIssued(serial: "g1", certificateDER: [1], at: Sample.t0),
            .reserveCertificate(Sample.certificate("g2", agent: agent.id, predecessor: "g1")),
            .reserveCertificate(Sample.certificate("h1", agent: Sample.agentID(2))),
        ])
        let results = try await store.perform([.revokeAgentLine(agent.id, at: Sample.t0 + 1, reason: .keyCompromise)])
        guard case .revokedLine(let line) = results.first else {
            Issue.record("expected the revoked line")
            return
        }
        #expect(Set(line.map(\.record.serial)) == ["g1", "g2"])
        #expect(line.allSatisfy { $0.newlyRevoked && $0.record.reason == .keyCompromise })
        #expect(try await store.agent(agent.id)?.status == .revoked)
        #expect(try await store.certificate(serial: "h1")?.status == .reserved)
        // A reservation after the revocation is refused in its own transaction.
        let refused = await storeError {
            _ = try await store.perform([.ensureAgent(agent), .reserveCertificate(Sample.certificate("g3", agent: agent.id, predecessor: "g1"))])
        }
        #expect(refused?.code == .invalidState)
        let unknown = await storeError { _ = try await store.perform([.revokeAgentLine(Sample.agentID(9), at: Sample.t0, reason: nil)]) }
        #expect(unknown?.code == .notFound)
    }
}
