import Foundation
import GRDB
import Registration

// Row → model decoding. A value the model cannot represent is `corrupt`, never a default.
extension SQLiteStore {
    static func date(_ row: Row, _ column: String) -> Date? {
        (row[column] as Double?).map { Date(timeIntervalSince1970: $0) }
    }

    static func required<T>(_ value: T?, _ what: String) throws -> T {
        guard let value else { throw StoreError.corrupt("stored \(what) is missing or invalid") }
        return value
    }

    static func decodeAgent(_ row: Row) throws -> Agent {
        Agent(
            id: try required(AgentID(row["id"] as String), "agent id"), hostname: row["hostname"],
            status: try required(Agent.Status(rawValue: row["status"]), "agent status"),
            created: try required(date(row, "created_at"), "agent created_at"), revokedAt: date(row, "revoked_at"))
    }

    static func decodeRegistration(_ row: Row) throws -> PendingRegistration {
        PendingRegistration(
            id: try required(UUID(uuidString: row["id"]), "registration id"), hostname: row["hostname"],
            agentID: try required(AgentID(row["agent_id"] as String), "registration agent id"),
            csrDER: [UInt8](row["csr"] as Data), spkiSHA256: row["spki_sha256"], sourceAddress: row["source_address"],
            status: try required(PendingRegistration.Status(rawValue: row["status"]), "registration status"),
            reason: row["reason"], decidedBy: row["decided_by"],
            created: try required(date(row, "created_at"), "registration created_at"), decidedAt: date(row, "decided_at"),
            issuedSerial: row["issued_serial"])
    }

    static func decodeToken(_ row: Row) throws -> EnrollmentToken {
        EnrollmentToken(
            tokenSHA256: row["token_sha256"], hostname: row["hostname"],
            created: try required(date(row, "created_at"), "token created_at"),
            expires: try required(date(row, "expires_at"), "token expires_at"),
            consumedAt: date(row, "consumed_at"), createdBy: row["created_by"], reservedSerial: row["reserved_serial"])
    }

    static func decodeCertificate(_ row: Row) throws -> CertificateRecord {
        var agentID: AgentID?
        if let text = row["agent_id"] as String? { agentID = try required(AgentID(text), "certificate agent id") }
        return CertificateRecord(
            serial: row["serial"], issuerSKI: row["issuer_ski"],
            type: try required(CertificateRecord.CertificateType(rawValue: row["type"]), "certificate type"),
            subject: row["subject"], notBefore: try required(date(row, "not_before"), "not_before"),
            notAfter: try required(date(row, "not_after"), "not_after"),
            status: try required(CertificateRecord.Status(rawValue: row["status"]), "certificate status"),
            agentID: agentID, predecessorSerial: row["predecessor_serial"], tbsSHA256: row["tbs_sha256"],
            certificateDER: (row["der"] as Data?).map { [UInt8]($0) },
            reservedAt: try required(date(row, "reserved_at"), "reserved_at"), issuedAt: date(row, "issued_at"),
            supersededAt: date(row, "superseded_at"))
    }

    static func decodeRevocation(_ row: Row, issuerSKI: String? = nil) throws -> RevocationRecord {
        var reason: RevocationReason?
        if let code = row["reason"] as Int? {
            guard let known = RevocationReason(code: code) else {
                let serial: String = row["serial"]
                throw StoreError.corrupt(
                    """
                    revocation of serial \(serial) has reason code \(code), which RFC 5280 §5.3.1 does not define; \
                    set it to a defined one or none (sqlite3 <state>/db/rootkeeper.sqlite "UPDATE revocations SET reason = NULL WHERE serial = '\(serial)'")
                    """)
            }
            reason = known
        }
        return RevocationRecord(
            serial: row["serial"], issuerSKI: issuerSKI ?? row["issuer_ski"],
            revokedAt: try required(date(row, "revoked_at"), "revoked_at"), reason: reason,
            invalidityDate: date(row, "invalidity_date"))
    }

    static func decodeAuditEvent(_ row: Row) -> AuditEvent {
        AuditEvent(
            seq: row["seq"], timeMilliseconds: row["time_ms"], actor: row["actor"], action: row["action"],
            subject: row["subject"], detailsJSON: row["details"], prevHash: row["prev_hash"], hash: row["hash"])
    }

    static func fetchAgent(_ db: Database, _ id: AgentID) throws -> Agent? {
        try fetchRow(db, sql: "SELECT * FROM agents WHERE id = ?", arguments: [id.description]).map(decodeAgent)
    }
    static func fetchToken(_ db: Database, _ digest: String) throws -> EnrollmentToken? {
        try fetchRow(db, sql: "SELECT * FROM enrollment_tokens WHERE token_sha256 = ?", arguments: [digest]).map(decodeToken)
    }
    static func fetchCertificate(_ db: Database, _ serial: String) throws -> CertificateRecord? {
        try fetchRow(db, sql: "SELECT * FROM certificates WHERE serial = ?", arguments: [serial]).map(decodeCertificate)
    }
    static func fetchRevocation(_ db: Database, _ serial: String) throws -> RevocationRecord? {
        try fetchRow(db, sql: "SELECT * FROM revocations WHERE serial = ?", arguments: [serial]).map { try decodeRevocation($0) }
    }
    static func fetchRegistration(_ db: Database, _ id: UUID) throws -> PendingRegistration? {
        try fetchRow(db, sql: "SELECT * FROM registrations WHERE id = ?", arguments: [id.uuidString.lowercased()]).map(decodeRegistration)
    }
    static func fetchOpenRegistration(_ db: Database, _ hostname: String) throws -> PendingRegistration? {
        try fetchRow(
            db,
            sql: """
                SELECT * FROM registrations
                WHERE hostname = ? COLLATE NOCASE AND (status = 'pending' OR (status = 'approved' AND issued_serial IS NULL))
                """, arguments: [hostname]
        ).map(decodeRegistration)
    }
}

// Hot statements go through GRDB's per-connection statement cache: a unit of work of a few
// operations then costs no SQL parsing (issuance throughput, docs/performance.md).
extension SQLiteStore {
    static func execute(_ db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try db.cachedStatement(sql: sql).execute(arguments: arguments)
    }

    static func fetchRow(_ db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> Row? {
        try Row.fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
    }
}

extension SQLiteStore {
    /// Whether `table` has a row with `column = value` (identifiers are fixed strings of this file).
    static func exists(_ db: Database, _ table: String, _ column: String, _ value: String) throws -> Bool {
        try fetchRow(db, sql: "SELECT 1 FROM \(table) WHERE \(column) = ?", arguments: [value]) != nil
    }
}
