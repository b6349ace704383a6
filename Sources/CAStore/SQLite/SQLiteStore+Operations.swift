import Foundation
import GRDB
import Registration

extension SQLiteStore {
    /// Applies one operation inside the current write transaction. Preconditions are checked with
    /// reads in the same transaction (SQLite has one writer) and backed by constraints in the schema.
    static func apply(_ operation: StoreOperation, _ db: Database) throws -> StoreOperationResult {
        switch operation {
        case .consumeToken(let digest, let hostname, let now, let serial):
            guard var token = try fetchToken(db, digest) else { throw StoreError.tokenUnavailable("unknown enrolment token") }
            if let reason = token.unusableReason(hostname: hostname, at: now) { throw StoreError.tokenUnavailable(reason) }
            // The WHERE clause repeats the check so that the update is single-use even without
            // the single-writer guarantee (as the PostgreSQL store relies on).
            try execute(
                db, sql: "UPDATE enrollment_tokens SET consumed_at = ?, reserved_serial = ? WHERE token_sha256 = ? AND consumed_at IS NULL",
                arguments: [now.timeIntervalSince1970, serial, digest])
            guard db.changesCount == 1 else { throw StoreError.tokenUnavailable("enrolment token was already used") }
            token.consumedAt = now
            token.reservedSerial = serial
            return .consumed(token)
        case .insertToken(let token):
            try execute(
                db,
                sql: """
                    INSERT INTO enrollment_tokens (token_sha256, hostname, created_at, expires_at, consumed_at, created_by)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    token.tokenSHA256, token.hostname, token.created.timeIntervalSince1970,
                    token.expires.timeIntervalSince1970, token.consumedAt?.timeIntervalSince1970, token.createdBy,
                ])
        case .ensureAgent(let agent):
            if let existing = try fetchAgent(db, agent.id) {
                guard existing.status == .active else { throw StoreError.invalidState("agent \(agent.id) is revoked") }
            } else {
                try execute(
                    db, sql: "INSERT INTO agents (id, hostname, status, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [
                        agent.id.description, agent.hostname, agent.status.rawValue,
                        agent.created.timeIntervalSince1970, agent.revokedAt?.timeIntervalSince1970,
                    ])
            }
        case .revokeAgent(let id, let now):
            guard try fetchAgent(db, id) != nil else { throw StoreError.notFound("agent \(id) is not known") }
            try execute(
                db, sql: "UPDATE agents SET status = 'revoked', revoked_at = ? WHERE id = ? AND status <> 'revoked'",
                arguments: [now.timeIntervalSince1970, id.description])
        case .reserveCertificate(let record):
            if try exists(db, "certificates", "serial", record.serial) { throw StoreError.conflict("serial \(record.serial) already exists") }
            if let id = record.agentID, try fetchAgent(db, id) == nil { throw StoreError.notFound("agent \(id) is not known") }
            if let predecessor = record.predecessorSerial {
                guard try fetchCertificate(db, predecessor) != nil else { throw StoreError.notFound("predecessor \(predecessor) is not known") }
                let live =
                    try Int.fetchOne(
                        db.cachedStatement(sql: "SELECT COUNT(*) FROM certificates WHERE predecessor_serial = ? AND status <> 'revoked'"),
                        arguments: [predecessor]) ?? 0
                if live > 0 { throw StoreError.conflict("certificate \(predecessor) already has a successor") }
            }
            try execute(
                db,
                sql: """
                    INSERT INTO certificates (serial, issuer_ski, type, subject, not_before, not_after, status, agent_id,
                        predecessor_serial, tbs_sha256, der, reserved_at, issued_at, superseded_at)
                    VALUES (?, ?, ?, ?, ?, ?, 'reserved', ?, ?, ?, NULL, ?, NULL, NULL)
                    """,
                arguments: [
                    record.serial, record.issuerSKI, record.type.rawValue, record.subject,
                    record.notBefore.timeIntervalSince1970, record.notAfter.timeIntervalSince1970,
                    record.agentID?.description, record.predecessorSerial, record.tbsSHA256,
                    record.reservedAt.timeIntervalSince1970,
                ])
        case .recordIssued(let serial, let der, let now):
            try recordIssued(db, serial: serial, der: der, at: now)
        case .completeReservation(let serial, let der, let now, let reason):
            return try completeReservation(db, serial: serial, der: der, at: now, reason: reason)
        case .releaseReservation(let serial, let now):
            return try releaseReservation(db, serial: serial, at: now)
        case .revokeAgentLine(let id, let now, let reason):
            return try revokeAgentLine(db, id, at: now, reason: reason)
        case .supersede(let serial, let now):
            guard try fetchCertificate(db, serial) != nil else { throw StoreError.notFound("certificate \(serial) is not known") }
            try execute(
                db, sql: "UPDATE certificates SET status = 'superseded', superseded_at = ? WHERE serial = ? AND status = 'issued'",
                arguments: [now.timeIntervalSince1970, serial])
        case .insertRegistration(let r):
            if r.isOpen, try fetchOpenRegistration(db, r.hostname) != nil {
                throw StoreError.conflict("an open registration for \(r.hostname) exists")
            }
            try execute(
                db,
                sql: """
                    INSERT INTO registrations (id, hostname, agent_id, csr, spki_sha256, source_address, status, reason,
                        decided_by, created_at, decided_at, issued_serial)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    r.id.uuidString.lowercased(), r.hostname, r.agentID.description, Data(r.csrDER), r.spkiSHA256,
                    r.sourceAddress, r.status.rawValue, r.reason, r.decidedBy, r.created.timeIntervalSince1970,
                    r.decidedAt?.timeIntervalSince1970, r.issuedSerial,
                ])
        case .decideRegistration(let id, let status, let actor, let reason, let now):
            guard let registration = try fetchRegistration(db, id) else { throw StoreError.notFound("registration \(id) is not known") }
            guard registration.status == .pending else { throw StoreError.invalidState("registration \(id) is \(registration.status)") }
            try execute(
                db, sql: "UPDATE registrations SET status = ?, decided_by = ?, reason = ?, decided_at = ? WHERE id = ? AND status = 'pending'",
                arguments: [status.rawValue, actor, reason, now.timeIntervalSince1970, id.uuidString.lowercased()])
        case .markRegistrationIssued(let id, let serial):
            guard let registration = try fetchRegistration(db, id) else { throw StoreError.notFound("registration \(id) is not known") }
            guard registration.status == .approved, registration.issuedSerial == nil else {
                throw StoreError.invalidState("registration \(id) is not approved and unissued")
            }
            try execute(db, sql: "UPDATE registrations SET issued_serial = ? WHERE id = ?", arguments: [serial, id.uuidString.lowercased()])
        case .releaseRegistration(let id, let actor, let reason, let now):
            guard let registration = try fetchRegistration(db, id) else { throw StoreError.notFound("registration \(id) is not known") }
            guard registration.isOpen else { throw StoreError.invalidState("registration \(id) is \(registration.status) and holds no hostname") }
            // The WHERE clause repeats the "open" condition of the registrations_open_hostname index.
            try execute(
                db,
                sql: """
                    UPDATE registrations SET status = 'rejected', decided_by = ?, reason = ?, decided_at = ?
                    WHERE id = ? AND (status = 'pending' OR (status = 'approved' AND issued_serial IS NULL))
                    """, arguments: [actor, reason, now.timeIntervalSince1970, id.uuidString.lowercased()])
        case .revoke(let revocation):
            return .revoked(try revoke(db, revocation))
        case .audit(let entry):
            let last = try fetchRow(db, sql: "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            let event = try AuditEvent.chained(
                entry, previousSeq: (last?["seq"] as Int64?) ?? 0, prevHash: (last?["hash"] as String?) ?? AuditEvent.genesisHash)
            try execute(
                db,
                sql: """
                    INSERT INTO audit_events (seq, time_ms, actor, action, subject, details, prev_hash, hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    event.seq, event.timeMilliseconds, event.actor, event.action, event.subject,
                    event.detailsJSON, event.prevHash, event.hash,
                ])
            return .audited(event)
        }
        return .done
    }
}

extension SQLiteStore {
    /// Revokes a known certificate inside the current transaction; idempotent per serial.
    static func revoke(_ db: Database, _ revocation: RevocationRecord) throws -> RevocationResult {
        if let existing = try fetchRevocation(db, revocation.serial) {
            return RevocationResult(record: existing, newlyRevoked: false)
        }
        guard let record = try fetchCertificate(db, revocation.serial) else {
            throw StoreError.notFound("certificate \(revocation.serial) is not known")
        }
        var stored = revocation
        stored.issuerSKI = record.issuerSKI
        // seq: one past the highest, inside the write transaction (SQLite has one writer at a
        // time, so numbers increase in commit order; the unique index rejects any collision).
        try execute(
            db,
            sql: """
                INSERT INTO revocations (serial, issuer_ski, revoked_at, reason, invalidity_date, seq)
                VALUES (?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM revocations))
                """,
            arguments: [
                stored.serial, stored.issuerSKI, stored.revokedAt.timeIntervalSince1970, stored.reason.map { Int($0.rawValue) },
                stored.invalidityDate?.timeIntervalSince1970,
            ])
        try execute(db, sql: "UPDATE certificates SET status = 'revoked' WHERE serial = ?", arguments: [stored.serial])
        return RevocationResult(record: stored, newlyRevoked: true)
    }

    static func recordIssued(_ db: Database, serial: String, der: [UInt8], at now: Date) throws {
        guard let record = try fetchCertificate(db, serial) else { throw StoreError.notFound("no reservation for serial \(serial)") }
        guard record.status == .reserved || (record.status == .revoked && record.certificateDER == nil) else {
            throw StoreError.invalidState("serial \(serial) is \(record.status), not reserved")
        }
        try execute(
            db,
            sql: """
                UPDATE certificates SET der = ?, issued_at = ?,
                    status = CASE status WHEN 'reserved' THEN 'issued' ELSE status END
                WHERE serial = ?
                """, arguments: [Data(der), now.timeIntervalSince1970, serial])
    }

    /// Records the signature and decides, in this transaction, whether it may be handed out.
    static func completeReservation(
        _ db: Database, serial: String, der: [UInt8], at now: Date,
        reason: RevocationReason?
    ) throws -> StoreOperationResult {
        try recordIssued(db, serial: serial, der: der, at: now)
        guard let record = try fetchCertificate(db, serial) else { throw StoreError.notFound("serial \(serial) vanished") }
        var agentRevoked = false
        if let id = record.agentID, let agent = try fetchAgent(db, id) { agentRevoked = agent.status == .revoked }
        guard agentRevoked || record.status == .revoked else {
            if let predecessor = record.predecessorSerial {
                try execute(
                    db, sql: "UPDATE certificates SET status = 'superseded', superseded_at = ? WHERE serial = ? AND status = 'issued'",
                    arguments: [now.timeIntervalSince1970, predecessor])
            }
            return .completed(record, revocation: nil)
        }
        let revocation = try revoke(db, RevocationRecord(serial: serial, issuerSKI: record.issuerSKI, revokedAt: now, reason: reason))
        var revoked = record
        revoked.status = .revoked
        return .completed(revoked, revocation: revocation)
    }

    /// Undoes what an unfinished reservation consumed; see ``StoreOperation/releaseReservation(serial:at:)``.
    static func releaseReservation(_ db: Database, serial: String, at now: Date) throws -> StoreOperationResult {
        guard var record = try fetchCertificate(db, serial) else { throw StoreError.notFound("no reservation for serial \(serial)") }
        guard record.certificateDER == nil, record.status == .reserved || record.status == .revoked else {
            throw StoreError.invalidState("serial \(serial) is \(record.status) with a recorded certificate, not an unfinished reservation")
        }
        // Already revoked (its agent was revoked while it was reserved): still give back what it consumed.
        let revocation = try revoke(db, RevocationRecord(serial: serial, issuerSKI: record.issuerSKI, revokedAt: now, reason: nil))
        record.status = .revoked
        let token = try String.fetchOne(
            db.cachedStatement(sql: "SELECT token_sha256 FROM enrollment_tokens WHERE reserved_serial = ?"),
            arguments: [serial])
        if token != nil {
            try execute(
                db, sql: "UPDATE enrollment_tokens SET consumed_at = NULL, reserved_serial = NULL WHERE reserved_serial = ?",
                arguments: [serial])
        }
        var reopened: UUID?
        if let row = try fetchRow(db, sql: "SELECT * FROM registrations WHERE issued_serial = ? AND status = 'approved'", arguments: [serial]) {
            let registration = try decodeRegistration(row)
            // The partial unique index allows one open registration per hostname: if another opened
            // meanwhile, this one stays closed (its agent registers again, and the audit says so).
            if try fetchOpenRegistration(db, registration.hostname) == nil {
                try execute(
                    db, sql: "UPDATE registrations SET issued_serial = NULL WHERE id = ?",
                    arguments: [registration.id.uuidString.lowercased()])
                reopened = registration.id
            }
        }
        return .released(
            ReleasedReservation(
                certificate: record, revocation: revocation, restoredToken: token,
                reopenedRegistration: reopened))
    }

    /// Revokes the agent and the line read in this transaction.
    static func revokeAgentLine(_ db: Database, _ id: AgentID, at now: Date, reason: RevocationReason?) throws -> StoreOperationResult {
        guard try fetchAgent(db, id) != nil else { throw StoreError.notFound("agent \(id) is not known") }
        try execute(
            db, sql: "UPDATE agents SET status = 'revoked', revoked_at = ? WHERE id = ? AND status <> 'revoked'",
            arguments: [now.timeIntervalSince1970, id.description])
        let line = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM certificates WHERE agent_id = ? ORDER BY reserved_at, serial"),
            arguments: [id.description]
        ).map(decodeCertificate)
        return .revokedLine(
            try line.map {
                try revoke(db, RevocationRecord(serial: $0.serial, issuerSKI: $0.issuerSKI, revokedAt: now, reason: reason))
            })
    }
}
