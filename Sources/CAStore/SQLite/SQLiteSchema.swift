import GRDB
import Registration

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
            try db.execute(
                sql: """
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
            // revoked since its last CRL (docs/performance.md: revoke → CRL ≤ 1 s at 1 000 000 entries).
            // Existing rows take their rowid (insertion order, revocations are never deleted).
            // Not the rowid itself: VACUUM may renumber implicit rowids.
            try db.execute(
                sql: """
                    ALTER TABLE revocations ADD COLUMN seq INTEGER;
                    UPDATE revocations SET seq = rowid;
                    CREATE UNIQUE INDEX revocations_seq ON revocations(seq);
                    CREATE INDEX revocations_issuer_seq ON revocations(issuer_ski, seq);
                    """)
        }
        migrator.registerMigration("v3-hostnames-case-insensitive") { db in
            try SQLiteSchema.canonicaliseHostnames(db)
        }
        migrator.registerMigration("v4-token-reservation") { db in
            // Which reservation a consumed token paid for, so a reservation that never completes
            // (signing failed, process killed before the record) gives its token back: a token is
            // spent only by an issued certificate (docs/reservations.md).
            try db.execute(
                sql: """
                    ALTER TABLE enrollment_tokens ADD COLUMN reserved_serial TEXT;
                    CREATE INDEX enrollment_tokens_reserved_serial ON enrollment_tokens(reserved_serial);
                    CREATE INDEX registrations_issued_serial ON registrations(issued_serial);
                    """)
        }
        migrator.registerMigration("v5-revocation-row-checks") { db in
            // A revocation row whose reason code RFC 5280 §5.3.1 does not define (7, or above 10)
            // made the row reader throw and stopped that issuer's CRL. The store never writes one; these triggers refuse one
            // written by hand too, naming what is wrong (existing rows: SQLiteStore+Rows.swift).
            try db.execute(
                sql: """
                    CREATE TRIGGER revocations_valid_insert BEFORE INSERT ON revocations
                    WHEN NEW.reason IS NOT NULL AND (typeof(NEW.reason) <> 'integer' OR NEW.reason < 0 OR NEW.reason > 10 OR NEW.reason = 7)
                    BEGIN SELECT RAISE(ABORT, 'revocation refused: the reason must be empty or 0-6 or 8-10 (RFC 5280 section 5.3.1)'); END;
                    CREATE TRIGGER revocations_valid_update BEFORE UPDATE OF reason ON revocations
                    WHEN NEW.reason IS NOT NULL AND (typeof(NEW.reason) <> 'integer' OR NEW.reason < 0 OR NEW.reason > 10 OR NEW.reason = 7)
                    BEGIN SELECT RAISE(ABORT, 'revocation refused: the reason must be empty or 0-6 or 8-10 (RFC 5280 section 5.3.1)'); END;
                    """)
        }
        return migrator
    }

    /// v3: host names are one name whatever their case (RFC 4343 §3; relying parties compare
    /// dNSNames case-insensitively, RFC 5280 §7.2), so `DB3.example.org` and `db3.example.org`
    /// must not be two active agents (issue #11). Existing rows are lower-cased; if that would
    /// merge two active agents or two open registrations, the migration refuses — naming the
    /// rows — instead of choosing one: an administrator must revoke (or reject) all but one with
    /// the previous release first. The uniqueness of open registrations and (new) active agents
    /// per host name is then enforced case-insensitively by the database itself.
    static func canonicaliseHostnames(_ db: Database) throws {
        var collisions: [String] = []
        for (what, table, condition) in [
            ("active agents", "agents", "status = 'active'"),
            ("open registrations", "registrations", "status = 'pending' OR (status = 'approved' AND issued_serial IS NULL)"),
        ] {
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT lower(hostname) AS name, group_concat(id || ' (' || hostname || ')', ', ') AS members
                    FROM (SELECT id, hostname FROM \(table) WHERE \(condition) ORDER BY id)
                    GROUP BY lower(hostname) HAVING count(*) > 1 ORDER BY name
                    """)
            for row in rows {
                let name: String = row["name"]
                let members: String = row["members"]
                collisions.append("\(what) for \(name): \(members)")
            }
        }
        guard collisions.isEmpty else {
            throw StoreError(
                .conflict,
                """
                cannot upgrade the database to case-insensitive host names: these rows name one host in \
                different cases — \(collisions.joined(separator: "; ")). Keep one per host: revoke the other agents \
                (`appliance agents revoke <id>`) or reject the other registrations with the previous release, then start again
                """)
        }
        try db.execute(
            sql: """
                UPDATE agents SET hostname = lower(hostname) WHERE hostname <> lower(hostname);
                UPDATE registrations SET hostname = lower(hostname) WHERE hostname <> lower(hostname);
                UPDATE enrollment_tokens SET hostname = lower(hostname) WHERE hostname IS NOT NULL AND hostname <> lower(hostname);
                DROP INDEX registrations_open_hostname;
                CREATE UNIQUE INDEX registrations_open_hostname ON registrations(hostname COLLATE NOCASE)
                    WHERE status = 'pending' OR (status = 'approved' AND issued_serial IS NULL);
                CREATE UNIQUE INDEX agents_active_hostname ON agents(hostname COLLATE NOCASE) WHERE status = 'active';
                -- Pending registrations per source address (RegistrationPolicy.maxPendingPerSource).
                CREATE INDEX registrations_pending_source ON registrations(source_address) WHERE status = 'pending';
                """)
    }
}
