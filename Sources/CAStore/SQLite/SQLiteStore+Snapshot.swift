import Foundation
import GRDB
import Registration

extension SQLiteStore {
    /// Copies the database at `path` to a new file at `destination` as one consistent snapshot,
    /// while the appliance may be serving and writing.
    ///
    /// The SQLite online backup API (sqlite3_backup_*, https://sqlite.org/backup.html) runs inside
    /// one read transaction of a read-only WAL connection, so it sees exactly the commits made
    /// before it started and never blocks the writer (WAL readers and the writer do not wait for
    /// each other). The copy is then checked with `PRAGMA quick_check`.
    /// Throws `StoreError` `unavailable` when either file cannot be opened, or `corrupt` when
    /// the copy does not check.
    public static func snapshot(databaseAt path: String, to destination: String, busyTimeout: TimeInterval = 10) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.unavailable("no database at \(path)") }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            configuration.busyMode = .timeout(busyTimeout)
            let source = try DatabasePool(path: path, configuration: configuration)
            let copy = try DatabaseQueue(path: destination)
            try source.backup(to: copy)
            let check = try copy.read { try String.fetchOne($0, sql: "PRAGMA quick_check") }
            guard check == "ok" else { throw StoreError.corrupt("snapshot of \(path) fails quick_check: \(check ?? "no result")") }
            try copy.close()
            try source.close()
        } catch {
            throw translate(error, "snapshot of \(path)")
        }
    }

    /// The number of certificate records (any status) in the database file at `path`, opened
    /// read-only (used to summarise a backup).
    public static func certificateCount(databaseAt path: String) throws -> Int {
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM certificates") } ?? 0
        } catch {
            throw translate(error, "counting certificates in \(path)")
        }
    }

    /// The issuers (lower-case hex SKIs) the database at `path` names: of its certificates and
    /// its revocations. A backup must carry the certificate of each (`backup restore` refuses
    /// one that does not).
    public static func issuerIDs(databaseAt path: String) throws -> Set<String> {
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read {
                Set(try String.fetchAll($0, sql: "SELECT issuer_ski FROM certificates UNION SELECT issuer_ski FROM revocations"))
            }
        } catch {
            throw translate(error, "listing the issuers in \(path)")
        }
    }
}
