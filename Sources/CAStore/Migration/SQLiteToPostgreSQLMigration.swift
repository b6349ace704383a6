import Crypto
import Foundation
import GRDB
import NIOCore
import PostgresNIO
import Registration

/// Copies a single node's SQLite store into an empty PostgreSQL store (`appliance store migrate`,
/// docs/configuration.md#store), so the node (and further ones) can run on PostgreSQL.
///
/// Every row of every table is copied as stored — audit events with their sequence numbers and
/// hashes, revocations with their sequence numbers, CRL numbering — in one PostgreSQL transaction:
/// a failure leaves the target empty. The copy is then checked independently of the copying code:
/// row counts per table on both sides, and a SHA-256 of every certificate record as each store
/// answers it (all fields, DER included); the audit chain must verify on the target with the same
/// head as the source, so it continues unbroken.
public enum SQLiteToPostgreSQLMigration {
    /// What was copied and checked.
    public struct Summary: Sendable, Equatable {
        /// Rows per table, equal on both sides.
        public var counts: [String: Int]
        /// SHA-256 (hex) over the sorted per-certificate digests, equal on both sides.
        public var certificateDigest: String
        /// Audit events copied and the head hash both chains end at.
        public var auditEvents: Int64
        public var auditHead: String
    }

    /// Column kinds, so each SQLite value is bound with the PostgreSQL column's type.
    enum Kind { case text, double, int, blob }

    /// The tables in an order that satisfies the foreign keys, each with its columns and the
    /// SQLite order that keeps references valid (predecessors before successors).
    static let tables: [(name: String, order: String, columns: [(String, Kind)])] = [
        ("agents", "rowid", [("id", .text), ("hostname", .text), ("status", .text), ("created_at", .double), ("revoked_at", .double)]),
        (
            "registrations", "rowid",
            [
                ("id", .text), ("hostname", .text), ("agent_id", .text), ("csr", .blob), ("spki_sha256", .text), ("source_address", .text),
                ("status", .text), ("reason", .text), ("decided_by", .text), ("created_at", .double), ("decided_at", .double),
                ("issued_serial", .text),
            ]
        ),
        (
            "enrollment_tokens", "rowid",
            [
                ("token_sha256", .text), ("hostname", .text), ("created_at", .double), ("expires_at", .double), ("consumed_at", .double),
                ("created_by", .text), ("reserved_serial", .text),
            ]
        ),
        (
            "certificates", "rowid",
            [
                ("serial", .text), ("issuer_ski", .text), ("type", .text), ("subject", .text), ("not_before", .double), ("not_after", .double),
                ("status", .text), ("agent_id", .text), ("predecessor_serial", .text), ("tbs_sha256", .text), ("der", .blob),
                ("reserved_at", .double), ("issued_at", .double), ("superseded_at", .double),
            ]
        ),
        (
            "revocations", "seq",
            [
                ("serial", .text), ("issuer_ski", .text), ("revoked_at", .double), ("reason", .int), ("invalidity_date", .double), ("seq", .int),
            ]
        ),
        (
            "crl_state", "issuer_ski",
            [
                ("issuer_ski", .text), ("next_number", .int), ("last_number", .int), ("last_this_update", .double),
                ("last_next_update", .double), ("last_entries", .int), ("last_size_bytes", .int),
            ]
        ),
        (
            "audit_events", "seq",
            [
                ("seq", .int), ("time_ms", .int), ("actor", .text), ("action", .text), ("subject", .text), ("details", .text),
                ("prev_hash", .text), ("hash", .text),
            ]
        ),
    ]

    /// Copies `source` into `target`. Throws `conflict` when the target holds any row, `corrupt`
    /// when the source's audit chain is broken or the copy does not check (the target transaction
    /// is rolled back in the first cases; a failed check names the difference).
    public static func run(from source: SQLiteStore, to target: PostgreSQLStore) async throws -> Summary {
        guard case .intact(let sourceEvents, let sourceHead) = try await source.verifyAuditChain() else {
            throw StoreError.corrupt("the audit chain of \(source.path) does not verify (`appliance audit verify`); repair it before migrating")
        }
        let sourceCounts = try await counts(source)
        try await target.transaction("copying \(source.path)", locks: [.revocations, .audit]) { session in
            for table in tables {
                let existing = try await session.row(PostgresQuery(unsafeSQL: "SELECT COUNT(*) AS n FROM \(table.name)"))
                let n = try existing?.int64("n") ?? 0
                guard n == 0 else {
                    throw StoreError.conflict("the target database is not empty (\(table.name) has \(n) rows); migrate into a new, empty database")
                }
            }
            for table in tables { try await copy(table, from: source, into: session) }
        }
        // Independent checks, through each store's own reads.
        let targetCounts = try await counts(target)
        guard targetCounts == sourceCounts else {
            throw StoreError.corrupt(
                "row counts differ after the copy: SQLite \(sourceCounts.sorted { $0.key < $1.key }), PostgreSQL \(targetCounts.sorted { $0.key < $1.key })"
            )
        }
        let sourceDigests = try await certificateDigests(source)
        let targetDigests = try await certificateDigests(target)
        guard sourceDigests == targetDigests else {
            let differing = Set(sourceDigests.keys).union(targetDigests.keys).filter { sourceDigests[$0] != targetDigests[$0] }.sorted()
            throw StoreError.corrupt("certificate rows differ after the copy: \(differing.prefix(10).joined(separator: ", "))")
        }
        guard case .intact(let targetEvents, let targetHead) = try await target.verifyAuditChain(),
            targetEvents == sourceEvents, targetHead == sourceHead
        else {
            throw StoreError.corrupt("the audit chain on PostgreSQL does not continue the SQLite chain")
        }
        var all = SHA256()
        for digest in sourceDigests.sorted(by: { $0.key < $1.key }) { all.update(data: Data("\(digest.key)=\(digest.value)\n".utf8)) }
        return Summary(
            counts: sourceCounts, certificateDigest: all.finalize().map { String(format: "%02x", $0) }.joined(),
            auditEvents: sourceEvents, auditHead: sourceHead)
    }

    /// Rows of one table, read from SQLite in one read transaction and inserted one by one.
    static func copy(
        _ table: (name: String, order: String, columns: [(String, Kind)]), from source: SQLiteStore,
        into session: PostgreSQLSession
    ) async throws {
        let names = table.columns.map(\.0)
        let rows: [[DatabaseValue]] = try await source.read("reading \(table.name)") { db in
            try Row.fetchAll(db, sql: "SELECT \(names.joined(separator: ", ")) FROM \(table.name) ORDER BY \(table.order)")
                .map { row in names.map { row[$0] as DatabaseValue } }
        }
        let placeholders = (1...names.count).map { "$\($0)" }.joined(separator: ", ")
        let sql = "INSERT INTO \(table.name) (\(names.joined(separator: ", "))) VALUES (\(placeholders))"
        for values in rows {
            var binds = PostgresBindings(capacity: names.count)
            for ((name, kind), value) in zip(table.columns, values) {
                try bind(value, kind, column: "\(table.name).\(name)", into: &binds)
            }
            try await session.execute(PostgresQuery(unsafeSQL: sql, binds: binds))
        }
    }

    static func bind(_ value: DatabaseValue, _ kind: Kind, column: String, into binds: inout PostgresBindings) throws {
        if value.isNull {
            binds.appendNull()
            return
        }
        switch (kind, value.storage) {
        case (.text, .string(let text)): try binds.append(text)
        case (.double, .double(let number)): try binds.append(number)
        case (.double, .int64(let number)): try binds.append(Double(number))
        case (.int, .int64(let number)): try binds.append(number)
        case (.blob, .blob(let data)): try binds.append(ByteBuffer(bytes: data))
        default: throw StoreError.corrupt("\(column) holds \(value), not the \(kind) it should")
        }
    }

    /// Rows per table, as each store counts them.
    static func counts(_ store: SQLiteStore) async throws -> [String: Int] {
        try await store.read("counting rows") { db in
            var counts: [String: Int] = [:]
            for table in tables { counts[table.name] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.name)") ?? 0 }
            return counts
        }
    }

    static func counts(_ store: PostgreSQLStore) async throws -> [String: Int] {
        try await store.read("counting rows") { session in
            var counts: [String: Int] = [:]
            for table in tables {
                counts[table.name] = Int(try await session.row(PostgresQuery(unsafeSQL: "SELECT COUNT(*) AS n FROM \(table.name)"))?.int64("n") ?? 0)
            }
            return counts
        }
    }

    /// serial → SHA-256 of every field of the certificate record the store answers.
    static func certificateDigests(_ store: any Registration.CertificateStore) async throws -> [String: String] {
        var digests: [String: String] = [:]
        for record in try await store.certificates(type: nil) { digests[record.serial] = digest(record) }
        return digests
    }

    static func digest(_ r: CertificateRecord) -> String {
        func time(_ date: Date?) -> String { date.map { String($0.timeIntervalSince1970.bitPattern, radix: 16) } ?? "-" }
        let fields: [String] = [
            r.serial, r.issuerSKI, r.type.rawValue, r.subject, time(r.notBefore), time(r.notAfter), r.status.rawValue,
            r.agentID?.description ?? "-", r.predecessorSerial ?? "-", r.tbsSHA256,
            r.certificateDER.map { Data($0).base64EncodedString() } ?? "-", time(r.reservedAt), time(r.issuedAt), time(r.supersededAt),
        ]
        var hash = SHA256()
        for field in fields { hash.update(data: Data("\(field.utf8.count):\(field);".utf8)) }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
