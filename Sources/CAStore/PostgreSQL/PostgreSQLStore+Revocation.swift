import Foundation
import PostgresNIO
import Registration

extension PostgreSQLStore {
    // MARK: RevocationStore
    public func revoke(_ record: RevocationRecord) async throws -> RevocationResult {
        guard case .revoked(let result) = try await perform([.revoke(record)]).first else {
            throw StoreError(.database, "revocation produced no result")
        }
        return result
    }

    public func revocationStatus(serial: String) async throws -> RevocationStatus {
        // One statement reads both tables (one snapshot); any failure throws (fail closed,
        // docs/conventions.md#fail-closed). A revocation always has its certificate (foreign key).
        try await read("revocation status of \(serial)") { s in
            guard
                let row = try await s.row(
                    """
                    SELECT c.*, r.serial IS NOT NULL AS is_revoked, r.revoked_at AS r_revoked_at, r.reason AS r_reason,
                           r.invalidity_date AS r_invalidity_date, r.issuer_ski AS r_issuer_ski
                    FROM certificates c LEFT JOIN revocations r ON r.serial = c.serial WHERE c.serial = \(serial)
                    """)
            else { return .unknown }
            guard try row.bool("is_revoked") else { return .notRevoked(try Self.decodeCertificate(row)) }
            var reason: RevocationReason?
            if let code = try row.optionalInt64("r_reason") {
                reason = try Self.required(RevocationReason(code: Int(code)), "revocation reason \(code)")
            }
            return .revoked(
                RevocationRecord(
                    serial: serial, issuerSKI: try row.text("r_issuer_ski"),
                    revokedAt: try row.requiredDate("r_revoked_at"), reason: reason,
                    invalidityDate: try row.date("r_invalidity_date")))
        }
    }

    public func revocations(issuerSKI: String, afterSerial: String?, limit: Int) async throws -> [RevocationRecord] {
        try await read("revocations of \(issuerSKI)") { s in
            var page: [RevocationRecord] = []
            page.reserveCapacity(min(limit, 100_000))
            try await s.forEach(
                """
                SELECT serial, revoked_at, reason, invalidity_date FROM revocations
                WHERE issuer_ski = \(issuerSKI) AND serial > \(afterSerial ?? "") ORDER BY serial LIMIT \(Int64(max(0, limit)))
                """
            ) { page.append(try Self.decodeRevocation($0, issuerSKI: issuerSKI)) }
            return page
        }
    }

    public func revocationSequence(issuerSKI: String) async throws -> Int64? {
        try await read("revocation sequence of \(issuerSKI)") {
            try await $0.row("SELECT COALESCE(MAX(seq), 0)::bigint AS high FROM revocations WHERE issuer_ski = \(issuerSKI)")
                .map { try $0.int64("high") } ?? 0
        }
    }

    public func revocations(issuerSKI: String, afterSequence: Int64, limit: Int) async throws -> [SequencedRevocation] {
        try await read("revocations of \(issuerSKI) after \(afterSequence)") { s in
            var result: [SequencedRevocation] = []
            try await s.forEach(
                """
                SELECT seq, serial, revoked_at, reason, invalidity_date FROM revocations
                WHERE issuer_ski = \(issuerSKI) AND seq > \(afterSequence) ORDER BY seq LIMIT \(Int64(max(1, limit)))
                """
            ) { row in
                result.append(SequencedRevocation(sequence: try row.int64("seq"), record: try Self.decodeRevocation(row, issuerSKI: issuerSKI)))
            }
            return result
        }
    }

    public func revocationCount(issuerSKI: String) async throws -> Int {
        try await read("revocation count") {
            Int(try await $0.row("SELECT COUNT(*) AS n FROM revocations WHERE issuer_ski = \(issuerSKI)").map { try $0.int64("n") } ?? 0)
        }
    }

    // MARK: CRLStateStore
    public func allocateCRLNumber(issuerSKI: String) async throws -> CRLNumberAllocation {
        // One atomic upsert: two nodes allocating at once get two different numbers, clock-free.
        try await read("CRL number for \(issuerSKI)") { s in
            guard
                let row = try await s.row(
                    """
                    INSERT INTO crl_state (issuer_ski, next_number) VALUES (\(issuerSKI), 2)
                    ON CONFLICT (issuer_ski) DO UPDATE SET next_number = crl_state.next_number + 1
                    RETURNING next_number - 1 AS number, last_this_update
                    """)
            else { throw StoreError(.database, "CRL number allocation returned nothing") }
            let number = try row.int64("number")
            guard number < Int64.max - 1 else { throw StoreError.invalidState("CRL numbers exhausted for \(issuerSKI)") }
            return CRLNumberAllocation(number: number, lastThisUpdate: try row.date("last_this_update"))
        }
    }

    public func recordPublication(_ p: CRLPublication) async throws {
        try await transaction("CRL publication for \(p.issuerSKI)") { s in
            let next =
                try await s.row("SELECT next_number FROM crl_state WHERE issuer_ski = \(p.issuerSKI) FOR UPDATE")
                .map { try $0.int64("next_number") } ?? 1
            guard p.number < next else { throw StoreError(.invalidArgument, "CRL number \(p.number) was never allocated") }
            // Only a newer number replaces the record: a slow publisher cannot roll it back.
            try await s.execute(
                """
                UPDATE crl_state SET last_number = \(p.number), last_this_update = \(p.thisUpdate.timeIntervalSince1970),
                    last_next_update = \(p.nextUpdate.timeIntervalSince1970), last_entries = \(Int64(p.entries)),
                    last_size_bytes = \(Int64(p.sizeBytes))
                WHERE issuer_ski = \(p.issuerSKI) AND (last_number IS NULL OR last_number < \(p.number))
                """)
        }
    }

    public func lastPublication(issuerSKI: String) async throws -> CRLPublication? {
        try await read("last CRL publication") { s in
            guard let row = try await s.row("SELECT * FROM crl_state WHERE issuer_ski = \(issuerSKI) AND last_number IS NOT NULL") else {
                return nil
            }
            return CRLPublication(
                issuerSKI: issuerSKI, number: try row.int64("last_number"),
                thisUpdate: try row.requiredDate("last_this_update"),
                nextUpdate: try row.requiredDate("last_next_update"),
                entries: Int(try row.int64("last_entries")), sizeBytes: Int(try row.int64("last_size_bytes")))
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
            try await $0.rows("SELECT * FROM audit_events WHERE seq > \(afterSeq) ORDER BY seq LIMIT \(Int64(max(0, limit)))")
                .map(Self.decodeAuditEvent)
        }
    }

    public func verifyAuditChain() async throws -> AuditVerification {
        try await read("audit verification") { s in
            var verifier = AuditVerification.Verifier()
            var broken: AuditVerification?
            try await s.forEach("SELECT * FROM audit_events ORDER BY seq") { row in
                guard broken == nil else { return }
                broken = verifier.feed(try Self.decodeAuditEvent(row))
            }
            return broken ?? verifier.result
        }
    }
}

extension PostgreSQLStore: IssuerActivityStore {
    public func latestExpiry(issuerSKI: String, excluding: Set<CertificateRecord.CertificateType>) async throws -> Date? {
        let excluded = excluding.map(\.rawValue).sorted()
        return try await read("latest expiry of issuer \(issuerSKI)") {
            try await $0.row(
                """
                SELECT MAX(not_after) AS latest FROM certificates
                WHERE issuer_ski = \(issuerSKI) AND NOT (type = ANY(\(excluded)::text[]))
                """
            ).flatMap { try $0.date("latest") }
        }
    }
}

extension PostgreSQLStore: CertificateExpiryLookup {
    /// notAfter of each serial the store knows, one `= ANY($1)` statement per 10 000 serials
    /// (the CRL publisher's expiry pruning, as ``SQLiteStore/notAfter(serials:)``).
    public func notAfter(serials: [String]) async throws -> [String: Date] {
        guard !serials.isEmpty else { return [:] }
        return try await read("expiry of \(serials.count) certificates") { s in
            var result: [String: Date] = [:]
            result.reserveCapacity(serials.count)
            var start = serials.startIndex
            while start < serials.endIndex {
                let end = min(start + 10_000, serials.endIndex)
                let chunk = Array(serials[start..<end])
                try await s.forEach("SELECT serial, not_after FROM certificates WHERE serial = ANY(\(chunk)::text[])") { row in
                    result[try row.text("serial")] = try row.requiredDate("not_after")
                }
                start = end
            }
            return result
        }
    }
}
