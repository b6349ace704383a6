import GRDB

/// Versioned schema of the SQLite store. Migrations are append-only: never edit a shipped one.
///
/// Everything here is portable SQL (the PostgreSQL store uses the same tables with `timestamptz`,
/// `bytea` and `text COLLATE "C"` for serials so keyset order matches): partial unique indexes
/// enforce "one open registration per hostname" and "one live successor per certificate" in the
/// database itself, so two appliance processes racing cannot break them.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-initial") { db in
            try db.execute(sql: """
                CREATE TABLE agents (
                    id TEXT PRIMARY KEY NOT NULL,
                    hostname TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
                    created_at REAL NOT NULL,
                    revoked_at REAL
                );
                CREATE INDEX agents_hostname ON agents(hostname);

                CREATE TABLE registrations (
                    id TEXT PRIMARY KEY NOT NULL,
                    hostname TEXT NOT NULL,
                    agent_id TEXT NOT NULL,
                    csr BLOB NOT NULL,
                    spki_sha256 TEXT NOT NULL,
                    source_address TEXT,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
                    reason TEXT,
                    decided_by TEXT,
                    created_at REAL NOT NULL,
                    decided_at REAL,
                    issued_serial TEXT
                );
                CREATE UNIQUE INDEX registrations_open_hostname ON registrations(hostname)
                    WHERE status = 'pending' OR (status = 'approved' AND issued_serial IS NULL);
                CREATE INDEX registrations_host_agent ON registrations(hostname, agent_id, created_at);

                CREATE TABLE enrollment_tokens (
                    token_sha256 TEXT PRIMARY KEY NOT NULL,
                    hostname TEXT,
                    created_at REAL NOT NULL,
                    expires_at REAL NOT NULL,
                    consumed_at REAL,
                    created_by TEXT NOT NULL
                );

                CREATE TABLE certificates (
                    serial TEXT PRIMARY KEY NOT NULL,
                    issuer_ski TEXT NOT NULL,
                    type TEXT NOT NULL CHECK (type IN ('agent', 'server', 'ocspSigner', 'admin')),
                    subject TEXT NOT NULL,
                    not_before REAL NOT NULL,
                    not_after REAL NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('reserved', 'issued', 'superseded', 'revoked')),
                    agent_id TEXT REFERENCES agents(id),
                    predecessor_serial TEXT REFERENCES certificates(serial),
                    tbs_sha256 TEXT NOT NULL,
                    der BLOB,
                    reserved_at REAL NOT NULL,
                    issued_at REAL,
                    superseded_at REAL
                );
                CREATE INDEX certificates_agent ON certificates(agent_id, reserved_at);
                CREATE INDEX certificates_status_not_after ON certificates(status, not_after);
                CREATE INDEX certificates_status_superseded ON certificates(status, superseded_at);
                CREATE UNIQUE INDEX certificates_live_successor ON certificates(predecessor_serial)
                    WHERE status <> 'revoked';
                CREATE INDEX certificates_predecessor ON certificates(predecessor_serial);

                CREATE TABLE revocations (
                    serial TEXT PRIMARY KEY NOT NULL REFERENCES certificates(serial),
                    issuer_ski TEXT NOT NULL,
                    revoked_at REAL NOT NULL,
                    reason INTEGER,
                    invalidity_date REAL
                );
                -- Covering index: a CRL walk reads only this index, in serial order.
                CREATE INDEX revocations_issuer_serial ON revocations(issuer_ski, serial, revoked_at, reason, invalidity_date);

                CREATE TABLE crl_state (
                    issuer_ski TEXT PRIMARY KEY NOT NULL,
                    next_number INTEGER NOT NULL CHECK (next_number >= 1),
                    last_number INTEGER,
                    last_this_update REAL,
                    last_next_update REAL,
                    last_entries INTEGER,
                    last_size_bytes INTEGER
                );

                CREATE TABLE audit_events (
                    seq INTEGER PRIMARY KEY NOT NULL,
                    time_ms INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    details TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2-revocation-sequence") { db in
            // A commit-ordered number per revocation, so the CRL publisher reads only what was
            // revoked since its last CRL (DESIGN §7: revoke → CRL ≤ 1 s at 1 000 000 entries).
            // Existing rows take their rowid (insertion order, revocations are never deleted).
            // Not the rowid itself: VACUUM may renumber implicit rowids.
            try db.execute(sql: """
                ALTER TABLE revocations ADD COLUMN seq INTEGER;
                UPDATE revocations SET seq = rowid;
                CREATE UNIQUE INDEX revocations_seq ON revocations(seq);
                CREATE INDEX revocations_issuer_seq ON revocations(issuer_ski, seq);
                """)
        }
        migrator.registerMigration("issuance-faults-token-reservation") { db in
            // Which reservation a consumed token paid for, so a reservation that never completes
            // (signing failed, process killed before the record) gives its token back: a token is
            // spent only by an issued certificate (docs/reservations.md).
            try db.execute(sql: """
                ALTER TABLE enrollment_tokens ADD COLUMN reserved_serial TEXT;
                CREATE INDEX enrollment_tokens_reserved_serial ON enrollment_tokens(reserved_serial);
                CREATE INDEX registrations_issued_serial ON registrations(issued_serial);
                """)
        }
        return migrator
    }
}
