import Foundation
import NIOCore
import PostgresNIO
import Registration

extension PostgreSQLStore {
    public func perform(_ operations: [StoreOperation]) async throws -> [StoreOperationResult] {
        try await transaction("unit of work", locks: Self.locks(for: operations)) { session in
            var results: [StoreOperationResult] = []
            results.reserveCapacity(operations.count)
            for operation in operations { results.append(try await Self.apply(operation, session)) }
            return results
        }
    }

    /// The advisory locks a unit needs, taken before any row lock and always in the same order,
    /// so no two units can wait for each other's locks in a cycle.
    static func locks(for operations: [StoreOperation]) -> [AdvisoryLock] {
        var revokes = false
        var audits = false
        for operation in operations {
            switch operation {
            case .revoke, .revokeAgentLine, .completeReservation, .releaseReservation: revokes = true
            case .audit: audits = true
            default: break
            }
        }
        return (revokes ? [.revocations] : []) + (audits ? [.audit] : [])
    }

    /// Applies one operation inside the current transaction. Preconditions are read with
    /// `FOR UPDATE` (or `FOR SHARE` where only a concurrent revocation must wait) so that another
    /// node's transaction on the same rows waits for this one and then reads its result.
    static func apply(_ operation: StoreOperation, _ s: PostgreSQLSession) async throws -> StoreOperationResult {
        switch operation {
        case .consumeToken(let digest, let hostname, let now, let serial):
            guard let row = try await s.row("SELECT * FROM enrollment_tokens WHERE token_sha256 = \(digest) FOR UPDATE") else {
                throw StoreError.tokenUnavailable("unknown enrolment token")
            }
            var token = try decodeToken(row)
            if let reason = token.unusableReason(hostname: hostname, at: now) { throw StoreError.tokenUnavailable(reason) }
            // Guarded: single use even if the row lock were not there.
            let changed = try await s.execute(
                """
                UPDATE enrollment_tokens SET consumed_at = \(now.timeIntervalSince1970), reserved_serial = \(serial)
                WHERE token_sha256 = \(digest) AND consumed_at IS NULL RETURNING 1
                """)
            guard changed == 1 else { throw StoreError.tokenUnavailable("enrolment token was already used") }
            token.consumedAt = now
            token.reservedSerial = serial
            return .consumed(token)
        case .insertToken(let token):
            try await s.execute(
                """
                INSERT INTO enrollment_tokens (token_sha256, hostname, created_at, expires_at, consumed_at, created_by)
                VALUES (\(token.tokenSHA256), \(token.hostname), \(token.created.timeIntervalSince1970),
                        \(token.expires.timeIntervalSince1970), \(token.consumedAt?.timeIntervalSince1970), \(token.createdBy))
                """)
        case .ensureAgent(let agent):
            // Insert unless present (another node may insert the same agent now), then check it under lock.
            try await s.execute(
                """
                INSERT INTO agents (id, hostname, status, created_at, revoked_at)
                VALUES (\(agent.id.description), \(agent.hostname), \(agent.status.rawValue), \(agent.created.timeIntervalSince1970),
                        \(agent.revokedAt?.timeIntervalSince1970))
                ON CONFLICT (id) DO NOTHING
                """)
            guard let existing = try await s.row("SELECT * FROM agents WHERE id = \(agent.id.description) FOR SHARE").map(decodeAgent) else {
                throw StoreError.notFound("agent \(agent.id) vanished")
            }
            guard existing.status == .active else { throw StoreError.invalidState("agent \(agent.id) is revoked") }
        case .revokeAgent(let id, let now):
            guard try await fetchAgent(s, id, forUpdate: true) != nil else { throw StoreError.notFound("agent \(id) is not known") }
            try await s.execute(
                """
                UPDATE agents SET status = 'revoked', revoked_at = \(now.timeIntervalSince1970)
                WHERE id = \(id.description) AND status <> 'revoked'
                """)
        case .reserveCertificate(let record):
            if let id = record.agentID {
                guard try await s.row("SELECT 1 FROM agents WHERE id = \(id.description) FOR SHARE") != nil else {
                    throw StoreError.notFound("agent \(id) is not known")
                }
            }
            if let predecessor = record.predecessorSerial {
                guard try await fetchCertificate(s, predecessor, forUpdate: true) != nil else {
                    throw StoreError.notFound("predecessor \(predecessor) is not known")
                }
                let live = try await s.row(
                    """
                    SELECT 1 FROM certificates WHERE predecessor_serial = \(predecessor) AND status <> 'revoked' LIMIT 1
                    """)
                if live != nil { throw StoreError.conflict("certificate \(predecessor) already has a successor") }
            }
            // The serial check is the primary key itself (one round trip; a concurrent reservation
            // of the same serial on another node waits for this one, then finds it).
            let inserted = try await s.execute(
                """
                INSERT INTO certificates (serial, issuer_ski, type, subject, not_before, not_after, status, agent_id,
                    predecessor_serial, tbs_sha256, der, reserved_at, issued_at, superseded_at)
                VALUES (\(record.serial), \(record.issuerSKI), \(record.type.rawValue), \(record.subject),
                        \(record.notBefore.timeIntervalSince1970), \(record.notAfter.timeIntervalSince1970), 'reserved',
                        \(record.agentID?.description), \(record.predecessorSerial), \(record.tbsSHA256), NULL,
                        \(record.reservedAt.timeIntervalSince1970), NULL, NULL)
                ON CONFLICT (serial) DO NOTHING RETURNING 1
                """)
            guard inserted == 1 else { throw StoreError.conflict("serial \(record.serial) already exists") }
        case .recordIssued(let serial, let der, let now):
            try await recordIssued(s, serial: serial, der: der, at: now)
        case .completeReservation(let serial, let der, let now, let reason):
            return try await completeReservation(s, serial: serial, der: der, at: now, reason: reason)
        case .releaseReservation(let serial, let now):
            return try await releaseReservation(s, serial: serial, at: now)
        case .revokeAgentLine(let id, let now, let reason):
            return try await revokeAgentLine(s, id, at: now, reason: reason)
        case .supersede(let serial, let now):
            guard try await fetchCertificate(s, serial, forUpdate: true) != nil else {
                throw StoreError.notFound("certificate \(serial) is not known")
            }
            try await s.execute(
                """
                UPDATE certificates SET status = 'superseded', superseded_at = \(now.timeIntervalSince1970)
                WHERE serial = \(serial) AND status = 'issued'
                """)
        case .insertRegistration(let r):
            if r.isOpen, try await fetchOpenRegistration(s, r.hostname) != nil {
                throw StoreError.conflict("an open registration for \(r.hostname) exists")
            }
            // A registration opened concurrently on another node trips registrations_open_hostname (23505 → conflict).
            try await s.execute(
                """
                INSERT INTO registrations (id, hostname, agent_id, csr, spki_sha256, source_address, status, reason,
                    decided_by, created_at, decided_at, issued_serial)
                VALUES (\(r.id.uuidString.lowercased()), \(r.hostname), \(r.agentID.description), \(ByteBuffer(bytes: r.csrDER)),
                        \(r.spkiSHA256), \(r.sourceAddress), \(r.status.rawValue), \(r.reason), \(r.decidedBy),
                        \(r.created.timeIntervalSince1970), \(r.decidedAt?.timeIntervalSince1970), \(r.issuedSerial))
                """)
        case .decideRegistration(let id, let status, let actor, let reason, let now):
            guard let registration = try await fetchRegistration(s, id, forUpdate: true) else {
                throw StoreError.notFound("registration \(id) is not known")
            }
            guard registration.status == .pending else { throw StoreError.invalidState("registration \(id) is \(registration.status)") }
            try await s.execute(
                """
                UPDATE registrations SET status = \(status.rawValue), decided_by = \(actor), reason = \(reason),
                    decided_at = \(now.timeIntervalSince1970)
                WHERE id = \(id.uuidString.lowercased()) AND status = 'pending'
                """)
        case .markRegistrationIssued(let id, let serial):
            guard let registration = try await fetchRegistration(s, id, forUpdate: true) else {
                throw StoreError.notFound("registration \(id) is not known")
            }
            guard registration.status == .approved, registration.issuedSerial == nil else {
                throw StoreError.invalidState("registration \(id) is not approved and unissued")
            }
            try await s.execute("UPDATE registrations SET issued_serial = \(serial) WHERE id = \(id.uuidString.lowercased())")
        case .releaseRegistration(let id, let actor, let reason, let now):
            guard let registration = try await fetchRegistration(s, id, forUpdate: true) else {
                throw StoreError.notFound("registration \(id) is not known")
            }
            guard registration.isOpen else {
                throw StoreError.invalidState("registration \(id) is \(registration.status) and holds no hostname")
            }
            try await s.execute(
                """
                UPDATE registrations SET status = 'rejected', decided_by = \(actor), reason = \(reason), decided_at = \(now.timeIntervalSince1970)
                WHERE id = \(id.uuidString.lowercased()) AND (status = 'pending' OR (status = 'approved' AND issued_serial IS NULL))
                """)
        case .revoke(let revocation):
            return .revoked(try await revoke(s, revocation))
        case .audit(let entry):
            // Under the audit advisory lock (taken at BEGIN): no other node extends this head now.
            let last = try await s.row("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            let event = try AuditEvent.chained(
                entry, previousSeq: try last?.int64("seq") ?? 0,
                prevHash: try last?.text("hash") ?? AuditEvent.genesisHash)
            try await s.execute(
                """
                INSERT INTO audit_events (seq, time_ms, actor, action, subject, details, prev_hash, hash)
                VALUES (\(event.seq), \(event.timeMilliseconds), \(event.actor), \(event.action), \(event.subject),
                        \(event.detailsJSON), \(event.prevHash), \(event.hash))
                """)
            return .audited(event)
        }
        return .done
    }

    /// Revokes a known certificate inside the current transaction (which holds the revocation
    /// advisory lock); idempotent per serial.
    static func revoke(_ s: PostgreSQLSession, _ revocation: RevocationRecord) async throws -> RevocationResult {
        // One read: the certificate (locked) and its revocation, if any.
        guard
            let row = try await s.row(
                """
                SELECT c.issuer_ski AS certificate_issuer, r.serial IS NOT NULL AS is_revoked, r.serial, r.issuer_ski, r.revoked_at,
                       r.reason, r.invalidity_date
                FROM certificates c LEFT JOIN revocations r ON r.serial = c.serial WHERE c.serial = \(revocation.serial) FOR UPDATE OF c
                """)
        else { throw StoreError.notFound("certificate \(revocation.serial) is not known") }
        if try row.bool("is_revoked") { return RevocationResult(record: try decodeRevocation(row), newlyRevoked: false) }
        var stored = revocation
        stored.issuerSKI = try row.text("certificate_issuer")
        // seq: one past the highest, under the advisory lock held to COMMIT — numbers increase in
        // commit order across nodes (the unique constraint rejects any collision).
        try await s.execute(
            """
            WITH inserted AS (
                INSERT INTO revocations (serial, issuer_ski, revoked_at, reason, invalidity_date, seq)
                VALUES (\(stored.serial), \(stored.issuerSKI), \(stored.revokedAt.timeIntervalSince1970),
                        \(stored.reason.map { Int64($0.rawValue) }), \(stored.invalidityDate?.timeIntervalSince1970),
                        (SELECT COALESCE(MAX(seq), 0) + 1 FROM revocations))
                RETURNING serial)
            UPDATE certificates SET status = 'revoked' WHERE serial IN (SELECT serial FROM inserted)
            """)
        return RevocationResult(record: stored, newlyRevoked: true)
    }

    static func recordIssued(_ s: PostgreSQLSession, serial: String, der: [UInt8], at now: Date) async throws {
        guard let record = try await fetchCertificate(s, serial, forUpdate: true) else {
            throw StoreError.notFound("no reservation for serial \(serial)")
        }
        guard record.status == .reserved || (record.status == .revoked && record.certificateDER == nil) else {
            throw StoreError.invalidState("serial \(serial) is \(record.status), not reserved")
        }
        try await s.execute(
            """
            UPDATE certificates SET der = \(ByteBuffer(bytes: der)), issued_at = \(now.timeIntervalSince1970),
                status = CASE status WHEN 'reserved' THEN 'issued' ELSE status END
            WHERE serial = \(serial)
            """)
    }

    /// Records the signature and decides, in this transaction, whether it may be handed out.
    static func completeReservation(
        _ s: PostgreSQLSession, serial: String, der: [UInt8], at now: Date,
        reason: RevocationReason?
    ) async throws -> StoreOperationResult {
        try await recordIssued(s, serial: serial, der: der, at: now)
        guard let record = try await fetchCertificate(s, serial) else { throw StoreError.notFound("serial \(serial) vanished") }
        var agentRevoked = false
        if let id = record.agentID {
            // FOR SHARE: a concurrent revocation of the agent (FOR UPDATE) waits for this decision, or this waits for it.
            if let row = try await s.row("SELECT * FROM agents WHERE id = \(id.description) FOR SHARE") {
                agentRevoked = try decodeAgent(row).status == .revoked
            }
        }
        guard agentRevoked || record.status == .revoked else {
            if let predecessor = record.predecessorSerial {
                try await s.execute(
                    """
                    UPDATE certificates SET status = 'superseded', superseded_at = \(now.timeIntervalSince1970)
                    WHERE serial = \(predecessor) AND status = 'issued'
                    """)
            }
            return .completed(record, revocation: nil)
        }
        let revocation = try await revoke(s, RevocationRecord(serial: serial, issuerSKI: record.issuerSKI, revokedAt: now, reason: reason))
        var revoked = record
        revoked.status = .revoked
        return .completed(revoked, revocation: revocation)
    }

    /// Undoes what an unfinished reservation consumed; see ``StoreOperation/releaseReservation(serial:at:)``.
    static func releaseReservation(_ s: PostgreSQLSession, serial: String, at now: Date) async throws -> StoreOperationResult {
        guard var record = try await fetchCertificate(s, serial, forUpdate: true) else {
            throw StoreError.notFound("no reservation for serial \(serial)")
        }
        guard record.certificateDER == nil, record.status == .reserved || record.status == .revoked else {
            throw StoreError.invalidState("serial \(serial) is \(record.status) with a recorded certificate, not an unfinished reservation")
        }
        let revocation = try await revoke(s, RevocationRecord(serial: serial, issuerSKI: record.issuerSKI, revokedAt: now, reason: nil))
        record.status = .revoked
        let token = try await s.row("SELECT token_sha256 FROM enrollment_tokens WHERE reserved_serial = \(serial) FOR UPDATE")
            .map { try $0.text("token_sha256") }
        if token != nil {
            try await s.execute("UPDATE enrollment_tokens SET consumed_at = NULL, reserved_serial = NULL WHERE reserved_serial = \(serial)")
        }
        var reopened: UUID?
        if let row = try await s.row("SELECT * FROM registrations WHERE issued_serial = \(serial) AND status = 'approved' FOR UPDATE") {
            let registration = try decodeRegistration(row)
            if try await fetchOpenRegistration(s, registration.hostname) == nil {
                try await s.execute("UPDATE registrations SET issued_serial = NULL WHERE id = \(registration.id.uuidString.lowercased())")
                reopened = registration.id
            }
        }
        return .released(
            ReleasedReservation(
                certificate: record, revocation: revocation, restoredToken: token,
                reopenedRegistration: reopened))
    }

    /// Revokes the agent and the line read under the agent's row lock.
    static func revokeAgentLine(_ s: PostgreSQLSession, _ id: AgentID, at now: Date, reason: RevocationReason?) async throws -> StoreOperationResult {
        guard try await fetchAgent(s, id, forUpdate: true) != nil else { throw StoreError.notFound("agent \(id) is not known") }
        try await s.execute(
            """
            UPDATE agents SET status = 'revoked', revoked_at = \(now.timeIntervalSince1970)
            WHERE id = \(id.description) AND status <> 'revoked'
            """)
        let line = try await s.rows("SELECT * FROM certificates WHERE agent_id = \(id.description) ORDER BY reserved_at, serial")
            .map(decodeCertificate)
        var results: [RevocationResult] = []
        for certificate in line {
            results.append(
                try await revoke(
                    s,
                    RevocationRecord(
                        serial: certificate.serial, issuerSKI: certificate.issuerSKI,
                        revokedAt: now, reason: reason)))
        }
        return .revokedLine(results)
    }
}
