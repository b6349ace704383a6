import Foundation
import PostgresNIO
import Registration

/// Versioned schema of the PostgreSQL store. Migrations are append-only: never edit a shipped one.
///
/// The tables of ``SQLiteSchema`` at its latest version (v1…v4), with `double precision` seconds
/// for times (as SQLite's REAL, so values round-trip exactly), `bytea` for DER and CSRs and
/// `text COLLATE "C"` for every text column (serials, digests, ids: keyset pagination and
/// `ORDER BY` compare bytes, as SQLite does). The case-insensitive host-name indexes of SQLite
/// (`COLLATE NOCASE`) index `lower(hostname)`.
enum PostgreSQLSchema {
    struct Migration {
        let identifier: String
        let statements: [String]
    }

    static let migrations: [Migration] = [
        Migration(
            identifier: "v1-initial",
            statements: [
                """
                CREATE TABLE agents (
                    id text COLLATE "C" PRIMARY KEY,
                    hostname text COLLATE "C" NOT NULL,
                    status text COLLATE "C" NOT NULL CHECK (status IN ('active', 'revoked')),
                    created_at double precision NOT NULL,
                    revoked_at double precision
                )
                """,
                "CREATE INDEX agents_hostname ON agents(hostname)",
                "CREATE UNIQUE INDEX agents_active_hostname ON agents(lower(hostname)) WHERE status = 'active'",
                """
                CREATE TABLE registrations (
                    id text COLLATE "C" PRIMARY KEY,
                    hostname text COLLATE "C" NOT NULL,
                    agent_id text COLLATE "C" NOT NULL,
                    csr bytea NOT NULL,
                    spki_sha256 text COLLATE "C" NOT NULL,
                    source_address text COLLATE "C",
                    status text COLLATE "C" NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
                    reason text,
                    decided_by text,
                    created_at double precision NOT NULL,
                    decided_at double precision,
                    issued_serial text COLLATE "C"
                )
                """,
                """
                CREATE UNIQUE INDEX registrations_open_hostname ON registrations(lower(hostname))
                    WHERE status = 'pending' OR (status = 'approved' AND issued_serial IS NULL)
                """,
                "CREATE INDEX registrations_host_agent ON registrations(hostname, agent_id, created_at)",
                "CREATE INDEX registrations_pending_source ON registrations(source_address) WHERE status = 'pending'",
                "CREATE INDEX registrations_issued_serial ON registrations(issued_serial)",
                """
                CREATE TABLE enrollment_tokens (
                    token_sha256 text COLLATE "C" PRIMARY KEY,
                    hostname text COLLATE "C",
                    created_at double precision NOT NULL,
                    expires_at double precision NOT NULL,
                    consumed_at double precision,
                    created_by text NOT NULL,
                    reserved_serial text COLLATE "C"
                )
                """,
                "CREATE INDEX enrollment_tokens_reserved_serial ON enrollment_tokens(reserved_serial)",
                """
                CREATE TABLE certificates (
                    serial text COLLATE "C" PRIMARY KEY,
                    issuer_ski text COLLATE "C" NOT NULL,
                    type text COLLATE "C" NOT NULL CHECK (type IN ('agent', 'server', 'ocspSigner', 'admin')),
                    subject text NOT NULL,
                    not_before double precision NOT NULL,
                    not_after double precision NOT NULL,
                    status text COLLATE "C" NOT NULL CHECK (status IN ('reserved', 'issued', 'superseded', 'revoked')),
                    agent_id text COLLATE "C" REFERENCES agents(id),
                    predecessor_serial text COLLATE "C" REFERENCES certificates(serial),
                    tbs_sha256 text COLLATE "C" NOT NULL,
                    der bytea,
                    reserved_at double precision NOT NULL,
                    issued_at double precision,
                    superseded_at double precision
                )
                """,
                "CREATE INDEX certificates_agent ON certificates(agent_id, reserved_at)",
                "CREATE INDEX certificates_status_not_after ON certificates(status, not_after)",
                "CREATE INDEX certificates_status_superseded ON certificates(status, superseded_at)",
                "CREATE UNIQUE INDEX certificates_live_successor ON certificates(predecessor_serial) WHERE status <> 'revoked'",
                "CREATE INDEX certificates_predecessor ON certificates(predecessor_serial)",
                "CREATE INDEX certificates_issuer ON certificates(issuer_ski, not_after)",
                """
                CREATE TABLE revocations (
                    serial text COLLATE "C" PRIMARY KEY REFERENCES certificates(serial),
                    issuer_ski text COLLATE "C" NOT NULL,
                    revoked_at double precision NOT NULL,
                    -- As SQLite's v5 triggers: a reason RFC 5280 §5.3.1 does not define is refused when written.
                    reason integer CONSTRAINT revocations_reason_defined CHECK (reason IS NULL OR (reason BETWEEN 0 AND 10 AND reason <> 7)),
                    invalidity_date double precision,
                    seq bigint NOT NULL UNIQUE
                )
                """,
                // Covering index: a CRL walk reads only this index, in serial order.
                """
                CREATE INDEX revocations_issuer_serial ON revocations(issuer_ski, serial)
                    INCLUDE (revoked_at, reason, invalidity_date)
                """,
                "CREATE INDEX revocations_issuer_seq ON revocations(issuer_ski, seq)",
                """
                CREATE TABLE crl_state (
                    issuer_ski text COLLATE "C" PRIMARY KEY,
                    next_number bigint NOT NULL CHECK (next_number >= 1),
                    last_number bigint,
                    last_this_update double precision,
                    last_next_update double precision,
                    last_entries bigint,
                    last_size_bytes bigint
                )
                """,
                """
                CREATE TABLE audit_events (
                    seq bigint PRIMARY KEY,
                    time_ms bigint NOT NULL,
                    actor text NOT NULL,
                    action text NOT NULL,
                    subject text NOT NULL,
                    details text NOT NULL,
                    prev_hash text COLLATE "C" NOT NULL,
                    hash text COLLATE "C" NOT NULL
                )
                """,
            ]),
        Migration(
            identifier: "v2-shared-crl",
            statements: [
                // The leading node's current CRL per issuer, served by every other node
                // (PostgreSQLStore+CRLLeadership.swift).
                """
                CREATE TABLE crl_current (
                    issuer_ski text COLLATE "C" PRIMARY KEY,
                    number bigint NOT NULL CHECK (number >= 1),
                    der bytea NOT NULL
                )
                """
            ]),
    ]

    /// Applies the migrations not yet recorded, in one transaction under an advisory lock (two
    /// nodes starting together: the second waits, then finds nothing to do). A database that
    /// records a migration this program does not know was written by a newer Rootkeeper: refused.
    static func migrate(_ store: PostgreSQLStore) async throws {
        try await store.transaction("schema migration", locks: [.migrations]) { session in
            try await session.execute(
                """
                CREATE TABLE IF NOT EXISTS rootkeeper_migrations (
                    identifier text COLLATE "C" PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                """)
            var applied: Set<String> = []
            for row in try await session.rows("SELECT identifier FROM rootkeeper_migrations") {
                applied.insert(try row["identifier"].decode(String.self))
            }
            let known = Set(migrations.map(\.identifier))
            let unknown = applied.subtracting(known)
            guard unknown.isEmpty else {
                throw StoreError.corrupt("database was written by a newer Rootkeeper (migrations \(unknown.sorted().joined(separator: ", ")))")
            }
            for migration in migrations where !applied.contains(migration.identifier) {
                for statement in migration.statements { try await session.execute(PostgresQuery(unsafeSQL: statement)) }
                try await session.execute("INSERT INTO rootkeeper_migrations (identifier) VALUES (\(migration.identifier))")
            }
        }
    }
}
