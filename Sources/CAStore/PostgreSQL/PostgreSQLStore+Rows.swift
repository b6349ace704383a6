import Foundation
import NIOCore
import PostgresNIO
import Registration

// Row → model decoding, as SQLiteStore+Rows.swift. A value the model cannot represent is
// `corrupt`, never a default.
extension PostgresRandomAccessRow {
    func text(_ column: String) throws -> String {
        do { return try self[column].decode(String.self) } catch { throw StoreError.corrupt("stored \(column) is missing or invalid") }
    }
    func optionalText(_ column: String) throws -> String? {
        do { return try self[column].decode(String?.self) } catch { throw StoreError.corrupt("stored \(column) is invalid") }
    }
    func int64(_ column: String) throws -> Int64 {
        do { return try self[column].decode(Int64.self) } catch { throw StoreError.corrupt("stored \(column) is missing or invalid") }
    }
    func optionalInt64(_ column: String) throws -> Int64? {
        do { return try self[column].decode(Int64?.self) } catch { throw StoreError.corrupt("stored \(column) is invalid") }
    }
    func bool(_ column: String) throws -> Bool {
        do { return try self[column].decode(Bool.self) } catch { throw StoreError.corrupt("stored \(column) is missing or invalid") }
    }
    func date(_ column: String) throws -> Date? {
        do { return try self[column].decode(Double?.self).map { Date(timeIntervalSince1970: $0) } } catch {
            throw StoreError.corrupt("stored \(column) is invalid")
        }
    }
    func requiredDate(_ column: String) throws -> Date {
        try PostgreSQLStore.required(date(column), column)
    }
    func bytes(_ column: String) throws -> [UInt8]? {
        do { return try self[column].decode(ByteBuffer?.self).map { Array($0.readableBytesView) } } catch {
            throw StoreError.corrupt("stored \(column) is invalid")
        }
    }
}

extension PostgreSQLStore {
    static func required<T>(_ value: T?, _ what: String) throws -> T {
        guard let value else { throw StoreError.corrupt("stored \(what) is missing or invalid") }
        return value
    }

    static func decodeAgent(_ row: PostgresRandomAccessRow) throws -> Agent {
        Agent(
            id: try required(AgentID(try row.text("id")), "agent id"), hostname: try row.text("hostname"),
            status: try required(Agent.Status(rawValue: try row.text("status")), "agent status"),
            created: try row.requiredDate("created_at"), revokedAt: try row.date("revoked_at"))
    }

    static func decodeRegistration(_ row: PostgresRandomAccessRow) throws -> PendingRegistration {
        PendingRegistration(
            id: try required(UUID(uuidString: try row.text("id")), "registration id"), hostname: try row.text("hostname"),
            agentID: try required(AgentID(try row.text("agent_id")), "registration agent id"),
            csrDER: try required(row.bytes("csr"), "registration csr"), spkiSHA256: try row.text("spki_sha256"),
            sourceAddress: try row.optionalText("source_address"),
            status: try required(PendingRegistration.Status(rawValue: try row.text("status")), "registration status"),
            reason: try row.optionalText("reason"), decidedBy: try row.optionalText("decided_by"),
            created: try row.requiredDate("created_at"), decidedAt: try row.date("decided_at"),
            issuedSerial: try row.optionalText("issued_serial"))
    }

    static func decodeToken(_ row: PostgresRandomAccessRow) throws -> EnrollmentToken {
        EnrollmentToken(
            tokenSHA256: try row.text("token_sha256"), hostname: try row.optionalText("hostname"),
            created: try row.requiredDate("created_at"), expires: try row.requiredDate("expires_at"),
            consumedAt: try row.date("consumed_at"), createdBy: try row.text("created_by"),
            reservedSerial: try row.optionalText("reserved_serial"))
    }

    static func decodeCertificate(_ row: PostgresRandomAccessRow) throws -> CertificateRecord {
        var agentID: AgentID?
        if let text = try row.optionalText("agent_id") { agentID = try required(AgentID(text), "certificate agent id") }
        return CertificateRecord(
            serial: try row.text("serial"), issuerSKI: try row.text("issuer_ski"),
            type: try required(CertificateRecord.CertificateType(rawValue: try row.text("type")), "certificate type"),
            subject: try row.text("subject"), notBefore: try row.requiredDate("not_before"),
            notAfter: try row.requiredDate("not_after"),
            status: try required(CertificateRecord.Status(rawValue: try row.text("status")), "certificate status"),
            agentID: agentID, predecessorSerial: try row.optionalText("predecessor_serial"), tbsSHA256: try row.text("tbs_sha256"),
            certificateDER: try row.bytes("der"),
            reservedAt: try row.requiredDate("reserved_at"), issuedAt: try row.date("issued_at"),
            supersededAt: try row.date("superseded_at"))
    }

    static func decodeRevocation(_ row: PostgresRandomAccessRow, issuerSKI: String? = nil) throws -> RevocationRecord {
        var reason: RevocationReason?
        if let code = try row.optionalInt64("reason") {
            reason = try required(RevocationReason(code: Int(code)), "revocation reason \(code)")
        }
        return RevocationRecord(
            serial: try row.text("serial"), issuerSKI: try issuerSKI ?? row.text("issuer_ski"),
            revokedAt: try row.requiredDate("revoked_at"), reason: reason,
            invalidityDate: try row.date("invalidity_date"))
    }

    static func decodeAuditEvent(_ row: PostgresRandomAccessRow) throws -> AuditEvent {
        AuditEvent(
            seq: try row.int64("seq"), timeMilliseconds: try row.int64("time_ms"), actor: try row.text("actor"),
            action: try row.text("action"), subject: try row.text("subject"), detailsJSON: try row.text("details"),
            prevHash: try row.text("prev_hash"), hash: try row.text("hash"))
    }

    static func fetchAgent(_ s: PostgreSQLSession, _ id: AgentID, forUpdate: Bool = false) async throws -> Agent? {
        let query: PostgresQuery =
            forUpdate
            ? "SELECT * FROM agents WHERE id = \(id.description) FOR UPDATE"
            : "SELECT * FROM agents WHERE id = \(id.description)"
        return try await s.row(query).map(decodeAgent)
    }
    static func fetchToken(_ s: PostgreSQLSession, _ digest: String) async throws -> EnrollmentToken? {
        try await s.row("SELECT * FROM enrollment_tokens WHERE token_sha256 = \(digest)").map(decodeToken)
    }
    static func fetchCertificate(_ s: PostgreSQLSession, _ serial: String, forUpdate: Bool = false) async throws -> CertificateRecord? {
        let query: PostgresQuery =
            forUpdate
            ? "SELECT * FROM certificates WHERE serial = \(serial) FOR UPDATE"
            : "SELECT * FROM certificates WHERE serial = \(serial)"
        return try await s.row(query).map(decodeCertificate)
    }
    static func fetchRevocation(_ s: PostgreSQLSession, _ serial: String) async throws -> RevocationRecord? {
        try await s.row("SELECT * FROM revocations WHERE serial = \(serial)").map { try decodeRevocation($0) }
    }
    static func fetchRegistration(_ s: PostgreSQLSession, _ id: UUID, forUpdate: Bool = false) async throws -> PendingRegistration? {
        let key = id.uuidString.lowercased()
        let query: PostgresQuery =
            forUpdate
            ? "SELECT * FROM registrations WHERE id = \(key) FOR UPDATE"
            : "SELECT * FROM registrations WHERE id = \(key)"
        return try await s.row(query).map(decodeRegistration)
    }
    static func fetchOpenRegistration(_ s: PostgreSQLSession, _ hostname: String) async throws -> PendingRegistration? {
        try await s.row(
            """
            SELECT * FROM registrations
            WHERE lower(hostname) = lower(\(hostname)) AND (status = 'pending' OR (status = 'approved' AND issued_serial IS NULL))
            """
        ).map(decodeRegistration)
    }
}
