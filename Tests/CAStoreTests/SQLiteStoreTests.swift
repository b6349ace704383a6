import Foundation
import GRDB
import Registration
import TestSupport
import Testing

@testable import CAStore

@Suite("SQLite store specifics")
struct SQLiteStoreTests {
    @Test("the database is WAL with synchronous=FULL and foreign keys on, and its schema has the unique serial")
    func durabilitySettings() async throws {
        let directory = try TemporaryDirectory("castore")
        defer { directory.remove() }
        let path = directory.file("rootkeeper.sqlite")
        let store = try SQLiteStore(path: path)
        let settings = try await store.pool.write { db in
            (try Int.fetchOne(db, sql: "PRAGMA synchronous"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(settings.0 == 2)  // FULL
        #expect(settings.1 == 1)
        #expect(try SQLiteShell.run(path, "PRAGMA journal_mode;") == "wal")
        let schema = try SQLiteShell.run(path, ".schema certificates")
        #expect(schema.contains("serial TEXT PRIMARY KEY NOT NULL"))
        #expect(
            try SQLiteShell.run(path, "SELECT identifier FROM grdb_migrations;")
                == "v1-initial\nv2-revocation-sequence\nv3-hostnames-case-insensitive\nv4-token-reservation\nv5-revocation-row-checks")
    }

    @Test("CRL numbers keep increasing after the database file is closed and reopened")
    func crlNumberSurvivesReopen() async throws {
        let directory = try TemporaryDirectory("castore")
        defer { directory.remove() }
        let path = directory.file("rootkeeper.sqlite")
        var numbers: [Int64] = []
        for _ in 0..<3 {
            let store = try SQLiteStore(path: path)
            numbers.append(try await store.allocateCRLNumber(issuerSKI: "ica").number)
            numbers.append(try await store.allocateCRLNumber(issuerSKI: "ica").number)
        }
        #expect(numbers == [1, 2, 3, 4, 5, 6])
        #expect(try SQLiteShell.run(path, "SELECT next_number FROM crl_state WHERE issuer_ski = 'ica';") == "7")
    }

    @Test("a recorded issuance is read back by a new process-independent reader")
    func issuanceVisibleToIndependentReader() async throws {
        let directory = try TemporaryDirectory("castore")
        defer { directory.remove() }
        let path = directory.file("rootkeeper.sqlite")
        let store = try SQLiteStore(path: path)
        try await store.reserveIssuance(Sample.certificate("00c0ffee"))
        #expect(try SQLiteShell.run(path, "SELECT status FROM certificates WHERE serial = '00c0ffee';") == "reserved")
        try await store.recordIssued(serial: "00c0ffee", certificateDER: [0x30, 0x00], at: Sample.t0)
        #expect(try SQLiteShell.run(path, "SELECT status, hex(der) FROM certificates WHERE serial = '00c0ffee';") == "issued|3000")
    }

    // Tests run as root, for whom chmod 0400/0500 does not stop writes (CAP_DAC_OVERRIDE). Two
    // root-proof ways the file cannot be written: a path whose parent is a regular file (cannot
    // be created), and a database opened read-only (as inspection/backup tools do).
    @Test("a database path that cannot be created fails at open with a clear error naming the path")
    func unopenablePath() throws {
        let directory = try TemporaryDirectory("castore")
        defer { directory.remove() }
        let blocker = directory.file("not-a-directory")
        try Data("x".utf8).write(to: URL(fileURLWithPath: blocker))
        do {
            _ = try SQLiteStore(path: blocker + "/rootkeeper.sqlite")
            Issue.record("opening under a regular file must fail")
        } catch let error as StoreError {
            #expect(error.code == .unavailable)
            #expect(error.reason.contains("not-a-directory/rootkeeper.sqlite"))
        }
    }

    @Test("writing to a database opened read-only fails with unavailable, and reads still work")
    func readOnlyDatabase() async throws {
        let directory = try TemporaryDirectory("castore")
        defer { directory.remove() }
        let path = directory.file("rootkeeper.sqlite")
        do {
            let writer = try SQLiteStore(path: path)
            try await writer.reserveIssuance(Sample.certificate("aa"))
        }
        let reader = try SQLiteStore(path: path, options: .init(readOnly: true))
        #expect(try await reader.certificate(serial: "aa")?.serial == "aa")
        let error = await storeError { try await reader.reserveIssuance(Sample.certificate("bb")) }
        #expect(error?.code == .unavailable)
        #expect(error?.reason.contains("read-only") == true)
        let revocation = await storeError {
            _ = try await reader.revoke(RevocationRecord(serial: "aa", issuerSKI: Sample.issuer, revokedAt: Sample.t0, reason: nil))
        }
        #expect(revocation?.code == .unavailable)
    }

    @Test("a file that is not a database is refused as corrupt")
    func notADatabase() throws {
        let directory = try TemporaryDirectory("castore")
        defer { directory.remove() }
        let path = directory.file("rootkeeper.sqlite")
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        do {
            _ = try SQLiteStore(path: path)
            Issue.record("a non-database file must be refused")
        } catch let error as StoreError {
            #expect(error.code == .corrupt)
        }
    }
}
