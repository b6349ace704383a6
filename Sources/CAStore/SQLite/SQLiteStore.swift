import Foundation
import GRDB
import Registration

/// The embedded default store: one SQLite file (`<state>/db/rootkeeper.sqlite`) through GRDB.
///
/// - WAL with a `DatabasePool`: readers (OCSP, mTLS revocation checks) never wait for the writer.
/// - `synchronous=FULL`: a committed unit (a reservation, a revocation) is on disk before
///   `perform` returns, so it survives kill -9 and power loss.
/// - Foreign keys on, busy timeout so a second process waits instead of failing.
/// - Versioned migrations (``SQLiteSchema``); a database from a newer version is refused.
public final class SQLiteStore: RegistrationDataStore {
    /// How to open the file.
    public struct Options: Sendable {
        /// Open without write access (inspection, backup verification). Writes throw `unavailable`.
        public var readOnly: Bool
        /// How long a writer waits for another process's lock.
        public var busyTimeout: TimeInterval

        public init(readOnly: Bool = false, busyTimeout: TimeInterval = 5) {
            self.readOnly = readOnly
            self.busyTimeout = busyTimeout
        }
    }

    /// The database file.
    public let path: String
    let pool: DatabasePool

    /// Opens (creating and migrating if needed) the database at `path`.
    /// Throws `StoreError` `unavailable` when the file cannot be opened or written.
    public init(path: String, options: Options = Options()) throws {
        self.path = path
        var configuration = Configuration()
        configuration.readonly = options.readOnly
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(options.busyTimeout)
        configuration.prepareDatabase { db in
            // FULL: fsync the WAL on every commit (NORMAL would lose the last commits on power loss).
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            if !options.readOnly {
                // GRDB switches the writer to synchronous=NORMAL when it enables WAL, after
                // prepareDatabase ran; set FULL again on the (single) writer connection.
                try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            }
            let migrator = SQLiteSchema.migrator
            if options.readOnly {
                let complete = try pool.read { try migrator.hasCompletedMigrations($0) }
                guard complete else { throw StoreError.unavailable("database at \(path) is not migrated and was opened read-only") }
            } else {
                if try pool.read({ try migrator.hasBeenSuperseded($0) }) {
                    throw StoreError.corrupt("database at \(path) was written by a newer Rootkeeper")
                }
                try migrator.migrate(pool)
            }
        } catch {
            throw SQLiteStore.translate(error, "opening \(path)")
        }
    }

    /// Runs a read transaction, translating errors.
    func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.read(body) } catch { throw SQLiteStore.translate(error, what) }
    }

    /// Runs a write transaction, translating errors.
    func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.write(body) } catch { throw SQLiteStore.translate(error, what) }
    }

    public func perform(_ operations: [StoreOperation]) async throws -> [StoreOperationResult] {
        try await write("unit of work") { db in try operations.map { try SQLiteStore.apply($0, db) } }
    }

    /// Maps any error to a `StoreError` with context; never loses the original message.
    static func translate(_ error: any Error, _ context: String) -> StoreError {
        if let store = error as? StoreError { return store.context(context) }
        guard let db = error as? DatabaseError else { return StoreError(.database, "\(context): \(error)") }
        let message = db.message ?? "\(db.resultCode)"
        switch db.resultCode {
        case .SQLITE_CONSTRAINT: return StoreError(.conflict, "\(context): \(message)")
        case .SQLITE_READONLY: return StoreError(.unavailable, "\(context): database is read-only (\(message))")
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_AUTH:
            return StoreError(.unavailable, "\(context): \(message)")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: return StoreError(.corrupt, "\(context): \(message)")
        default: return StoreError(.database, "\(context): \(message)")
        }
    }
}
