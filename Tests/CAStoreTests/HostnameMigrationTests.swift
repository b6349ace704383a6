import Foundation
import GRDB
import Registration
import TestSupport
import Testing

@testable import CAStore

/// The v3 migration (issue #11): host names become case-insensitive. A database file written by
/// the previous schema, with mixed-case rows put in by the sqlite3 tool, is lower-cased at open —
/// or, when two active agents (or open registrations) would become one name, refused with a
/// message naming the rows, leaving the file as it was.
@Suite("SQLite migration to case-insensitive host names")
struct HostnameMigrationTests {
    /// A database at schema v2 (before this migration) at `path`.
    static func v2Database(at path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try SQLiteSchema.migrator.migrate(queue, upTo: "v2-revocation-sequence")
    }

    static let rows = """
        INSERT INTO agents VALUES ('00000000-0000-4000-8000-000000000001', 'DB3.Example.org', 'active', 1, NULL);
        INSERT INTO agents VALUES ('00000000-0000-4000-8000-000000000002', 'db3.example.org', 'revoked', 1, 2);
        INSERT INTO registrations (id, hostname, agent_id, csr, spki_sha256, source_address, status, created_at)
            VALUES ('10000000-0000-4000-8000-000000000001', 'Web1.EXAMPLE.org', '00000000-0000-4000-8000-000000000009', x'00', 'aa', '10.0.0.1', 'pending', 1);
        INSERT INTO enrollment_tokens VALUES ('tok1', 'API.Example.ORG', 1, 2, NULL, 'admin');
        """

    @Test("mixed-case rows are lower-cased and the name is then unique case-insensitively in the database itself")
    func lowercases() async throws {
        let directory = try TemporaryDirectory("migration")
        defer { directory.remove() }
        let path = directory.file("rootkeeper.sqlite")
        try Self.v2Database(at: path)
        try SQLiteShell.run(path, Self.rows)

        let store = try SQLiteStore(path: path)
        #expect(try SQLiteShell.run(path, "SELECT hostname FROM agents ORDER BY id") == "db3.example.org\ndb3.example.org")
        #expect(try SQLiteShell.run(path, "SELECT hostname FROM registrations") == "web1.example.org")
        #expect(try SQLiteShell.run(path, "SELECT hostname FROM enrollment_tokens") == "api.example.org")
        #expect(try await store.openRegistration(hostname: "WEB1.example.org")?.hostname == "web1.example.org")
        // The database refuses a second active agent or open registration in another case, whoever writes.
        let agent = try ExternalTool("sqlite3").run([
            path, "INSERT INTO agents VALUES ('00000000-0000-4000-8000-000000000003', 'Db3.example.ORG', 'active', 3, NULL);",
        ])
        #expect(!agent.succeeded && agent.stderr.contains("UNIQUE constraint failed"), "\(agent.output)")
        let registration = PendingRegistration(
            id: UUID(), hostname: "WEB1.example.org", agentID: AgentID(UUID()), csrDER: [0], spkiSHA256: "bb",
            sourceAddress: nil, created: Date())
        let error = await #expect(throws: StoreError.self) { _ = try await store.perform([.insertRegistration(registration)]) }
        #expect(error?.code == .conflict)
    }

    @Test("two active agents differing only in case stop the start with a message naming both rows; after revoking one it opens")
    func refusesCollisions() async throws {
        let directory = try TemporaryDirectory("migration")
        defer { directory.remove() }
        let path = directory.file("rootkeeper.sqlite")
        try Self.v2Database(at: path)
        try SQLiteShell.run(
            path,
            Self.rows + """
                INSERT INTO agents VALUES ('00000000-0000-4000-8000-000000000004', 'db3.example.org', 'active', 4, NULL);
                INSERT INTO registrations (id, hostname, agent_id, csr, spki_sha256, source_address, status, created_at)
                    VALUES ('10000000-0000-4000-8000-000000000002', 'web1.example.org', '00000000-0000-4000-8000-000000000008', x'00', 'ab', '10.0.0.2', 'pending', 2);
                """)
        let error = #expect(throws: StoreError.self) { _ = try SQLiteStore(path: path) }
        #expect(error?.code == .conflict)
        let reason = error?.reason ?? ""
        #expect(
            reason.contains(
                "active agents for db3.example.org: 00000000-0000-4000-8000-000000000001 (DB3.Example.org), 00000000-0000-4000-8000-000000000004 (db3.example.org)"
            ), "\(reason)")
        #expect(
            reason.contains(
                "open registrations for web1.example.org: 10000000-0000-4000-8000-000000000001 (Web1.EXAMPLE.org), 10000000-0000-4000-8000-000000000002 (web1.example.org)"
            ), "\(reason)")
        #expect(reason.contains("appliance agents revoke"), "\(reason)")
        // Nothing was changed: still v2, names as they were.
        #expect(try SQLiteShell.run(path, "SELECT identifier FROM grdb_migrations") == "v1-initial\nv2-revocation-sequence")
        #expect(try SQLiteShell.run(path, "SELECT hostname FROM agents WHERE id LIKE '%1'") == "DB3.Example.org")

        try SQLiteShell.run(
            path,
            """
            UPDATE agents SET status = 'revoked', revoked_at = 5 WHERE id = '00000000-0000-4000-8000-000000000004';
            UPDATE registrations SET status = 'rejected' WHERE id = '10000000-0000-4000-8000-000000000002';
            """)
        _ = try SQLiteStore(path: path)
        #expect(try SQLiteShell.run(path, "SELECT count(*) FROM agents WHERE hostname = 'db3.example.org'") == "3")
    }
}
