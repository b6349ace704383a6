import CAStore
import Foundation
import PKICore
import Registration
import TestSupport
import Testing

@Suite("CRL state and audit log conformance")
struct CRLStateAndAuditConformanceTests {
    @Test("CRL numbers strictly increase per issuer, independent of the clock", arguments: StoreKind.allCases)
    func crlNumbers(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        let clock = FixedClock(Sample.t0)
        let first = try await store.allocateCRLNumber(issuerSKI: "ica")
        try await store.recordPublication(
            CRLPublication(
                issuerSKI: "ica", number: first.number, thisUpdate: clock.now(),
                nextUpdate: clock.now() + Sample.day, entries: 0, sizeBytes: 500))
        clock.advance(by: -3_600)  // the clock steps back an hour
        let second = try await store.allocateCRLNumber(issuerSKI: "ica")
        #expect(second.number > first.number)
        #expect(second.lastThisUpdate == Sample.t0)  // the caller can see that time went backwards
        #expect(try await store.allocateCRLNumber(issuerSKI: "other").number == 1)
        #expect(try await store.allocateCRLNumber(issuerSKI: "ica").number > second.number)

        let neverAllocated = await storeError {
            try await store.recordPublication(
                CRLPublication(
                    issuerSKI: "ica", number: 99, thisUpdate: Sample.t0,
                    nextUpdate: Sample.t0, entries: 0, sizeBytes: 0))
        }
        #expect(neverAllocated?.code == .invalidArgument)
        try await store.recordPublication(
            CRLPublication(
                issuerSKI: "ica", number: second.number, thisUpdate: Sample.t0 + 10,
                nextUpdate: Sample.t0 + Sample.day, entries: 3, sizeBytes: 700))
        // A slow publisher finishing an older CRL does not roll the record back.
        try await store.recordPublication(
            CRLPublication(
                issuerSKI: "ica", number: first.number, thisUpdate: Sample.t0 + 20,
                nextUpdate: Sample.t0 + Sample.day, entries: 0, sizeBytes: 1))
        let last = try #require(try await store.lastPublication(issuerSKI: "ica"))
        #expect(last.number == second.number)
        #expect(last.entries == 3)
        #expect(last.sizeBytes == 700)
    }

    @Test("the audit chain verifies, and an edited entry is named as the first break", arguments: StoreKind.allCases)
    func auditChain(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        for n in 1...5 {
            let event = try await store.append(
                AuditEntry(
                    time: Sample.t0 + Double(n), actor: "admin", action: "test.event",
                    subject: "s\(n)", details: ["n": String(n), "z": "last"]))
            #expect(event.seq == Int64(n))
        }
        guard case .intact(let count, let head) = try await store.verifyAuditChain() else {
            Issue.record("a fresh chain must verify")
            return
        }
        #expect(count == 5)
        #expect(head == (try await store.auditEvents(afterSeq: 4, limit: 1)).first?.hash)
        #expect(try await store.auditEvents(afterSeq: 0, limit: 10).map(\.seq) == [1, 2, 3, 4, 5])

        switch kind {
        case .inMemory:
            try await #require(store as? InMemoryStore).tamperWithAuditEvent(seq: 3) { $0.actor = "mallory" }
        case .sqliteFile, .postgresql:
            // Edit the row behind the store's back with the independent sqlite3 or psql tool.
            try fixture.tamper("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3;")
        }
        #expect(try await store.verifyAuditChain() == .broken(seq: 3, reason: "entry 3 was altered (hash mismatch)"))
    }
}
