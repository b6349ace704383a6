import CAStore
import Foundation
import Registration
import TestSupport
import Testing

@Suite("Revocation store conformance: revocations numbered in commit order")
struct RevocationSequenceConformanceTests {
    @Test("revocations come back by sequence after a cursor, per issuer, and a new one always numbers higher", arguments: StoreKind.allCases)
    func sequenceCursor(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        #expect(try await store.revocationSequence(issuerSKI: Sample.issuer) == 0)

        // One unit of work with several revocations, another issuer's interleaved.
        var operations: [StoreOperation] = []
        for n in 0..<5 {
            let issuer = n == 2 ? "other" : Sample.issuer
            operations.append(.reserveCertificate(Sample.certificate(Sample.serial(n), issuer: issuer)))
            operations.append(
                .revoke(RevocationRecord(serial: Sample.serial(n), issuerSKI: issuer, revokedAt: Sample.t0 + Double(n), reason: .keyCompromise)))
        }
        _ = try await store.perform(operations)
        let all = try await store.revocations(issuerSKI: Sample.issuer, afterSequence: 0, limit: 100)
        #expect(all.map(\.record.serial) == [0, 1, 3, 4].map(Sample.serial))
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
        let high = try #require(try await store.revocationSequence(issuerSKI: Sample.issuer))
        #expect(high == all.last?.sequence)

        // Paging by cursor: limit 2 then the rest.
        let firstPage = try await store.revocations(issuerSKI: Sample.issuer, afterSequence: 0, limit: 2)
        let rest = try await store.revocations(issuerSKI: Sample.issuer, afterSequence: try #require(firstPage.last).sequence, limit: 100)
        #expect((firstPage + rest).map(\.record) == all.map(\.record))

        // After the cursor: nothing, until a new revocation; idempotent re-revocation adds nothing.
        #expect(try await store.revocations(issuerSKI: Sample.issuer, afterSequence: high, limit: 100).isEmpty)
        try await store.reserveIssuance(Sample.certificate("ee01"))
        let record = RevocationRecord(serial: "ee01", issuerSKI: Sample.issuer, revokedAt: Sample.t0 + 60, reason: .superseded)
        _ = try await store.revoke(record)
        _ = try await store.revoke(RevocationRecord(serial: Sample.serial(0), issuerSKI: Sample.issuer, revokedAt: Sample.t0 + 99, reason: nil))
        let new = try await store.revocations(issuerSKI: Sample.issuer, afterSequence: high, limit: 100)
        #expect(new.map(\.record.serial) == ["ee01"])
        #expect(new.first?.record.reason == .superseded)
        #expect(try #require(new.first).sequence > high)
        #expect(try await store.revocationSequence(issuerSKI: Sample.issuer) == new.first?.sequence)
        #expect(try await store.revocations(issuerSKI: "other", afterSequence: 0, limit: 100).map(\.record.serial) == [Sample.serial(2)])
    }
}

@Suite("SQLite store: the revocation sequence migration")
struct RevocationSequenceMigrationTests {
    @Test("a database from before the migration numbers its revocations in insertion order, and new ones number higher")
    func upgradesOldDatabase() async throws {
        let directory = try TemporaryDirectory("castore")
        defer { directory.remove() }
        let path = directory.file("rootkeeper.sqlite")
        do {
            let store = try SQLiteStore(path: path)
            for n in [5, 1, 3] {
                try await store.reserveIssuance(Sample.certificate(Sample.serial(n)))
                _ = try await store.revoke(RevocationRecord(serial: Sample.serial(n), issuerSKI: Sample.issuer, revokedAt: Sample.t0, reason: nil))
            }
        }
        // Back to the v1 schema: no seq column, the migration not yet applied.
        try SQLiteShell.run(
            path,
            """
            DROP INDEX revocations_seq; DROP INDEX revocations_issuer_seq; ALTER TABLE revocations DROP COLUMN seq;
            DELETE FROM grdb_migrations WHERE identifier = 'v2-revocation-sequence';
            """)
        let store = try SQLiteStore(path: path)
        let upgraded = try await store.revocations(issuerSKI: Sample.issuer, afterSequence: 0, limit: 10)
        #expect(upgraded.map(\.record.serial) == [5, 1, 3].map(Sample.serial))
        let high = try #require(try await store.revocationSequence(issuerSKI: Sample.issuer))
        try await store.reserveIssuance(Sample.certificate(Sample.serial(2)))
        _ = try await store.revoke(RevocationRecord(serial: Sample.serial(2), issuerSKI: Sample.issuer, revokedAt: Sample.t0, reason: nil))
        #expect(try await store.revocations(issuerSKI: Sample.issuer, afterSequence: high, limit: 10).map(\.record.serial) == [Sample.serial(2)])
    }
}
