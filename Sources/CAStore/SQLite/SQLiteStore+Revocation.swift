import Foundation
import GRDB
import Registration

extension SQLiteStore {
    // MARK: RevocationStore
    public func revoke(_ record: RevocationRecord) async throws -> RevocationResult {
        guard case .revoked(let result) = try await perform([.revoke(record)]).first else {
            throw StoreError(.database, "revocation produced no result")
        }
        return result
    }

    public func revocationStatus(serial: String) async throws -> RevocationStatus {
        // One snapshot for both lookups; any failure throws (fail closed, docs/conventions.md#fail-closed).
        try await read("revocation status of \(serial)") { db in
            if let revoked = try Self.fetchRevocation(db, serial) { return .revoked(revoked) }
            if let record = try Self.fetchCertificate(db, serial) { return .notRevoked(record) }
            return .unknown
        }
    }

    public func revocations(issuerSKI: String, afterSerial: String?, limit: Int) async throws -> [RevocationRecord] {
        try await read("revocations of \(issuerSKI)") { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT serial, revoked_at, reason, invalidity_date FROM revocations
                    WHERE issuer_ski = ? AND serial > ? ORDER BY serial LIMIT ?
                    """, arguments: [issuerSKI, afterSerial ?? "", limit])
            var page: [RevocationRecord] = []
            page.reserveCapacity(min(limit, 100_000))
            while let row = try rows.next() { page.append(try Self.decodeRevocation(row, issuerSKI: issuerSKI)) }
            return page
        }
    }

    public func revocationSequence(issuerSKI: String) async throws -> Int64? {
        try await read("revocation sequence of \(issuerSKI)") {
            try Int64.fetchOne($0, sql: "SELECT MAX(seq) FROM revocations WHERE issuer_ski = ?", arguments: [issuerSKI]) ?? 0
        }
    }

    public func revocations(issuerSKI: String, afterSequence: Int64, limit: Int) async throws -> [SequencedRevocation] {
        try await read("revocations of \(issuerSKI) after \(afterSequence)") { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT seq, serial, revoked_at, reason, invalidity_date FROM revocations
                    WHERE issuer_ski = ? AND seq > ? ORDER BY seq LIMIT ?
                    """, arguments: [issuerSKI, afterSequence, max(1, limit)])
            var result: [SequencedRevocation] = []
            while let row = try rows.next() {
                result.append(SequencedRevocation(sequence: row["seq"], record: try Self.decodeRevocation(row, issuerSKI: issuerSKI)))
            }
            return result
        }
    }

    public func revocationCount(issuerSKI: String) async throws -> Int {
        try await read("revocation count") {
            try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM revocations WHERE issuer_ski = ?", arguments: [issuerSKI]) ?? 0
        }
    }

    // MARK: CRLStateStore
    public func allocateCRLNumber(issuerSKI: String) async throws -> CRLNumberAllocation {
        try await write("CRL number for \(issuerSKI)") { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT next_number, last_this_update FROM crl_state WHERE issuer_ski = ?",
                arguments: [issuerSKI])
            let number: Int64 = row?["next_number"] ?? 1
            guard number < Int64.max else { throw StoreError.invalidState("CRL numbers exhausted for \(issuerSKI)") }
            try db.execute(
                sql: """
                    INSERT INTO crl_state (issuer_ski, next_number) VALUES (?, ?)
                    ON CONFLICT(issuer_ski) DO UPDATE SET next_number = excluded.next_number
                    """, arguments: [issuerSKI, number + 1])
            return CRLNumberAllocation(number: number, lastThisUpdate: row.flatMap { Self.date($0, "last_this_update") })
        }
    }

    public func recordPublication(_ p: CRLPublication) async throws {
        try await write("CRL publication for \(p.issuerSKI)") { db in
            let next: Int64 =
                try Int64.fetchOne(
                    db, sql: "SELECT next_number FROM crl_state WHERE issuer_ski = ?",
                    arguments: [p.issuerSKI]) ?? 1
            guard p.number < next else { throw StoreError(.invalidArgument, "CRL number \(p.number) was never allocated") }
            // Only a newer number replaces the record: a slow publisher cannot roll it back.
            try db.execute(
                sql: """
                    UPDATE crl_state SET last_number = ?, last_this_update = ?, last_next_update = ?, last_entries = ?, last_size_bytes = ?
                    WHERE issuer_ski = ? AND (last_number IS NULL OR last_number < ?)
                    """,
                arguments: [
                    p.number, p.thisUpdate.timeIntervalSince1970, p.nextUpdate.timeIntervalSince1970, p.entries,
                    p.sizeBytes, p.issuerSKI, p.number,
                ])
        }
    }

    public func lastPublication(issuerSKI: String) async throws -> CRLPublication? {
        try await read("last CRL publication") { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM crl_state WHERE issuer_ski = ? AND last_number IS NOT NULL",
                    arguments: [issuerSKI])
            else { return nil }
            return CRLPublication(
                issuerSKI: issuerSKI, number: row["last_number"],
                thisUpdate: try Self.required(Self.date(row, "last_this_update"), "last_this_update"),
                nextUpdate: try Self.required(Self.date(row, "last_next_update"), "last_next_update"),
                entries: row["last_entries"], sizeBytes: row["last_size_bytes"])
        }
    }

    // MARK: AuditLog
    public func append(_ entry: AuditEntry) async throws -> AuditEvent {
        guard case .audited(let event) = try await perform([.audit(entry)]).first else {
            throw StoreError(.database, "audit append produced no result")
        }
        return event
    }

    public func auditEvents(afterSeq: Int64, limit: Int) async throws -> [AuditEvent] {
        try await read("audit events") {
            try Row.fetchAll($0, sql: "SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [afterSeq, limit])
                .map(Self.decodeAuditEvent)
        }
    }

    public func verifyAuditChain() async throws -> AuditVerification {
        try await read("audit verification") { db in
            var verifier = AuditVerification.Verifier()
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM audit_events ORDER BY seq")
            while let row = try rows.next() {
                if let broken = verifier.feed(Self.decodeAuditEvent(row)) { return broken }
            }
            return verifier.result
        }
    }
}
