import CAStore
import Foundation
import Registration
import TestSupport
import Testing

@Suite("Certificate store conformance")
struct CertificateStoreConformanceTests {
    @Test("a serial can be reserved only once, and the first reservation is kept", arguments: StoreKind.allCases)
    func serialUniqueness(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        try await store.reserveIssuance(Sample.certificate("0a11"))
        var duplicate = Sample.certificate("0a11")
        duplicate.subject = "CN=intruder"
        let error = await storeError { try await store.reserveIssuance(duplicate) }
        #expect(error?.code == .conflict)
        #expect(try await store.certificate(serial: "0a11")?.subject == "CN=agent-test")
    }

    @Test("reserve then record issued: the reservation is visible until completed", arguments: StoreKind.allCases)
    func reserveThenIssue(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        try await store.reserveIssuance(Sample.certificate("0b01"))
        let reserved = try #require(try await store.certificate(serial: "0b01"))
        #expect(reserved.status == .reserved)
        #expect(reserved.certificateDER == nil)
        #expect(try await store.reservations(olderThan: Sample.t0 + 60).map(\.serial) == ["0b01"])
        #expect(try await store.revocationStatus(serial: "0b01") == .notRevoked(reserved))

        try await store.recordIssued(serial: "0b01", certificateDER: [0x30, 0x03, 0x02, 0x01, 0x01], at: Sample.t0 + 1)
        let issued = try #require(try await store.certificate(serial: "0b01"))
        #expect(issued.status == .issued)
        #expect(issued.certificateDER == [0x30, 0x03, 0x02, 0x01, 0x01])
        #expect(issued.issuedAt == Sample.t0 + 1)
        #expect(try await store.reservations(olderThan: Sample.t0 + 60).isEmpty)

        let twice = await storeError { try await store.recordIssued(serial: "0b01", certificateDER: [0x30, 0x00], at: Sample.t0 + 2) }
        #expect(twice?.code == .invalidState)
        let unknown = await storeError { try await store.recordIssued(serial: "0bff", certificateDER: [0x30, 0x00], at: Sample.t0) }
        #expect(unknown?.code == .notFound)
    }

    @Test("lineage follows renewals both ways and a certificate has at most one live successor", arguments: StoreKind.allCases)
    func lineage(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        let agent = Sample.agent(1)
        _ = try await store.perform([
            .ensureAgent(agent),
            .reserveCertificate(Sample.certificate("c1", agent: agent.id)),
            .recordIssued(serial: "c1", certificateDER: [1], at: Sample.t0),
            .reserveCertificate(Sample.certificate("c2", agent: agent.id, predecessor: "c1")),
            .recordIssued(serial: "c2", certificateDER: [2], at: Sample.t0),
            .supersede(serial: "c1", at: Sample.t0 + 10),
            .reserveCertificate(Sample.certificate("c3", agent: agent.id, predecessor: "c2")),
        ])
        #expect(try await store.lineage(serial: "c2").map(\.serial) == ["c1", "c2", "c3"])
        #expect(try await store.lineage(serial: "c1").map(\.serial) == ["c1", "c2", "c3"])
        #expect(try await store.certificates(agent: agent.id).count == 3)
        #expect(try await store.certificate(serial: "c1")?.status == .superseded)
        #expect(try await store.certificate(serial: "c1")?.supersededAt == Sample.t0 + 10)

        let fork = await storeError { try await store.reserveIssuance(Sample.certificate("c2b", agent: agent.id, predecessor: "c1")) }
        #expect(fork?.code == .conflict)
    }

    @Test("a failing operation rolls back the whole unit of work", arguments: StoreKind.allCases)
    func atomicity(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        try await store.insertToken(Sample.token("t-1"))
        try await store.reserveIssuance(Sample.certificate("d1"))
        let error = await storeError {
            _ = try await store.perform([
                .consumeToken(tokenSHA256: EnrollmentToken.digest(of: "t-1"), hostname: "h", at: Sample.t0),
                .ensureAgent(Sample.agent(7)),
                .reserveCertificate(Sample.certificate("d1")),  // duplicate serial: the unit fails
            ])
        }
        #expect(error?.code == .conflict)
        #expect(try await store.token(sha256: EnrollmentToken.digest(of: "t-1"))?.consumedAt == nil)
        #expect(try await store.agent(Sample.agentID(7)) == nil)
    }

    @Test("expiring lists issued certificates ending within N days, soonest first", arguments: StoreKind.allCases)
    func expiring(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        let now = Sample.t0 + 10 * Sample.day
        let ends: [(String, TimeInterval)] = [("e-expired", -1), ("e-1d", 1), ("e-10d", 10), ("e-40d", 40), ("e-super", 2)]
        for (serial, days) in ends {
            try await store.reserveIssuance(Sample.certificate(serial, notAfter: now + days * Sample.day))
            try await store.recordIssued(serial: serial, certificateDER: [0], at: Sample.t0)
        }
        _ = try await store.perform([.supersede(serial: "e-super", at: now)])
        #expect(try await store.expiring(withinDays: 7, now: now).map(\.serial) == ["e-1d"])
        #expect(try await store.expiring(withinDays: 30, now: now).map(\.serial) == ["e-1d", "e-10d"])

        let counts = try await store.counts()
        #expect(counts.first { $0.type == .agent && $0.status == .issued }?.count == 4)
        #expect(counts.first { $0.type == .agent && $0.status == .superseded }?.count == 1)
        // Active = issued and not yet expired: the expired and the superseded ones do not count.
        #expect(try await store.activeCounts(at: now) == [.agent: 3])
        #expect(try await store.certificates(type: .agent).count == 5)
        #expect(try await store.certificates(type: .server).isEmpty)
        #expect(try await store.certificates(type: nil).map(\.serial).sorted() == ends.map(\.0).sorted())
    }
}
