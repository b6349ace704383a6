import Foundation
import Logging
import PostgresNIO
import Registration

/// One connection of the pool, inside or outside a transaction: the few ways the store talks to it.
struct PostgreSQLSession: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    /// Every row of `query`, collected.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in try await connection.query(query, logger: logger) { rows.append(row.makeRandomAccess()) }
        return rows
    }

    /// The first row of `query`, if any (the rest are read and dropped).
    func row(_ query: PostgresQuery) async throws -> PostgresRandomAccessRow? { try await rows(query).first }

    /// Runs `query` for its effect; with `RETURNING`, the number of rows it touched.
    @discardableResult
    func execute(_ query: PostgresQuery) async throws -> Int { try await rows(query).count }

    /// Streams rows to `body` without collecting them (audit verification of a long chain).
    func forEach(_ query: PostgresQuery, _ body: (PostgresRandomAccessRow) throws -> Void) async throws {
        for try await row in try await connection.query(query, logger: logger) { try body(row.makeRandomAccess()) }
    }
}

extension PostgreSQLStore {
    /// Transaction-scoped advisory lock keys (pg_advisory_xact_lock): fixed, arbitrary 64-bit numbers
    /// naming what they serialise across nodes. Always taken in this order.
    enum AdvisoryLock: Int64 {
        /// Revocation sequence numbers are assigned in commit order under it.
        case revocations = 0x526B_5265_766F_6B65  // "RkRevoke"
        /// The audit chain head is extended by one transaction at a time.
        case audit = 0x526B_4175_6469_7400  // "RkAudit"
        /// Schema migrations run once when several nodes start together.
        case migrations = 0x526B_4D69_6772_6174  // "RkMigrat"
    }

    /// Runs `body` on one pooled connection outside any transaction.
    func session<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgreSQLSession) async throws -> T) async throws -> T {
        do {
            let value = try await withConnection(what) { connection in
                try await body(PostgreSQLSession(connection: connection, logger: self.logger))
            }
            await recheckWritability()
            return value
        } catch {
            await failoverIfNeeded(after: error)
            throw Self.translate(error, what)
        }
    }

    /// Leases a pooled connection for `body`, or fails `unavailable` when none can be had within
    /// ``Configuration/connectTimeout`` — the server is down, a failover is under way, the pool is
    /// exhausted — instead of waiting for ever (the pool retries connecting in the background).
    /// Only the lease is bounded: a long unit of work, once it has its connection, runs to its end.
    func withConnection<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let leased = LeaseFlag()
        let outcome = Outcome<T>()
        let timeout = configuration.connectTimeout
        let client = self.client
        let host = activeHost
        // Not a task group: a group would wait for the lease request to notice its cancellation,
        // and a pool that is reconnecting may not; the caller is answered at the deadline and the
        // abandoned request is cancelled in the background.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                outcome.attach(continuation)
                let work = Task {
                    do {
                        let value = try await client.withConnection { connection in
                            leased.set()
                            return try await body(connection)
                        }
                        outcome.resume(.success(value))
                    } catch {
                        outcome.resume(.failure(error))
                    }
                }
                outcome.onCancel = { work.cancel() }
                Task {
                    try? await Task.sleep(for: .milliseconds(Int64(timeout * 1000)))
                    guard !leased.isSet else { return }
                    outcome.resume(
                        .failure(
                            StoreError.unavailable(
                                "no connection to \(host) within \(timeout) s (server down, failing over, or every connection busy)")))
                    work.cancel()
                }
            }
        } onCancel: {
            outcome.cancel()
        }
    }

    /// Runs `body` in one transaction (`BEGIN` … `COMMIT`, `ROLLBACK` on any error). A
    /// serialisation failure or deadlock (40001, 40P01) is retried once: the whole body runs again
    /// on fresh reads; a second one is `unavailable`.
    func transaction<T: Sendable>(
        _ what: String, readOnly: Bool = false, locks: [AdvisoryLock] = [],
        _ body: @escaping @Sendable (PostgreSQLSession) async throws -> T
    ) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await withConnection(what) { connection in
                    let session = PostgreSQLSession(connection: connection, logger: self.logger)
                    // REPEATABLE READ for read-only work: several statements see one snapshot
                    // (SQLite's read transactions); writers use READ COMMITTED with row locks.
                    try await session.execute(readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN ISOLATION LEVEL READ COMMITTED")
                    do {
                        for lock in locks { try await session.execute("SELECT pg_advisory_xact_lock(\(lock.rawValue))") }
                        let value = try await body(session)
                        try await session.execute("COMMIT")
                        if !readOnly { self.connection.setUnwritable(nil) }
                        return value
                    } catch {
                        // The rollback's own failure (connection gone) matters less than the cause.
                        _ = try? await session.execute("ROLLBACK")
                        throw error
                    }
                }
            } catch {
                if attempt == 1, let state = Self.sqlState(error), state == "40001" || state == "40P01" { continue }
                await failoverIfNeeded(after: error)
                throw Self.translate(error, what)
            }
        }
    }

    /// The server's SQLSTATE of `error`, if the server sent one.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// Words for an error, without query text or bind values (they may hold digests or DER).
    static func describe(_ error: any Error) -> String {
        if let store = error as? StoreError { return store.reason }
        guard let error = error as? PSQLError else { return "\(error)" }
        if let info = error.serverInfo {
            let message = info[.message] ?? "server error"
            let detail = info[.detail].map { " (\($0))" } ?? ""
            return "\(message)\(detail) [SQLSTATE \(info[.sqlState] ?? "?")]"
        }
        return connectionWords(error.underlying.map { "\($0)" } ?? "\(error.code)")
    }

    /// What a failed connection means, in words: NIO's descriptions (`SingleConnectionFailure(target:
    /// [IPv4]…)`) name internal types, so only the operating system's reason is kept.
    static func connectionWords(_ text: String) -> String {
        // In order: the TLS reasons first (their texts also contain "certificate").
        let reasons: [(phrase: String, words: String)] = [
            (
                "failedToValidateHostname",
                "the server's TLS certificate does not name the host connected to (store.tls_ca verifies the name, as libpq's verify-full); connect by a name or address the certificate carries"
            ),
            (
                "CERTIFICATE_VERIFY_FAILED",
                "the server's TLS certificate is not signed by the CA in store.tls_ca (or is expired or not yet valid)"
            ),
            ("sslUnsupported", "the server does not offer TLS, which store.tls_ca requires (ssl = on in postgresql.conf)"),
            ("Connection refused", "connection refused (is PostgreSQL running and listening on that address?)"),
            ("Connection reset", "the connection was reset"),
            ("timed out", "the connection timed out"), ("timeout", "the connection timed out"),
            ("No route to host", "no route to host"), ("Network is unreachable", "the network is unreachable"),
            ("Name or service not known", "the host name does not resolve"), ("certificate", "the server's TLS certificate was refused"),
            ("password authentication failed", "password authentication failed"), ("closed", "the server closed the connection"),
        ]
        for (phrase, words) in reasons where text.localizedCaseInsensitiveContains(phrase) { return words }
        return "the connection failed"
    }

    /// Maps any error to a `StoreError` with context (the sketch's table): integrity violations
    /// (23xxx) → conflict; connection loss, shutdown (57P0x), resources (53xxx), a read-only
    /// standby (25006), serialisation/deadlock after the retry → unavailable; the rest → database.
    static func translate(_ error: any Error, _ context: String) -> StoreError {
        if let store = error as? StoreError { return store.context(context) }
        let message = "\(context): \(describe(error))"
        guard let psql = error as? PSQLError else { return StoreError(.database, message) }
        guard let state = psql.serverInfo?[.sqlState] else {
            // No server answer: the connection or the pool failed.
            return StoreError(.unavailable, message)
        }
        switch state {
        case let s where s.hasPrefix("23"): return StoreError(.conflict, message)
        case let s where s.hasPrefix("08") || s.hasPrefix("53") || s.hasPrefix("57") || s.hasPrefix("58"):
            return StoreError(.unavailable, message)
        case "25006", "40001", "40P01", "55P03": return StoreError(.unavailable, message)
        case let s where s.hasPrefix("28"): return StoreError(.unavailable, message)
        default: return StoreError(.database, message)
        }
    }
}

/// Set once the lease is held (read by the lease timer).
final class LeaseFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// A continuation resumed once, by whichever of the work, the deadline or a cancellation comes first.
final class Outcome<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var pending: Result<T, any Error>?
    private var resumed = false
    var onCancel: (@Sendable () -> Void)? {
        get { lock.withLock { cancelAction } }
        set { lock.withLock { cancelAction = newValue } }
    }
    private var cancelAction: (@Sendable () -> Void)?

    func attach(_ continuation: CheckedContinuation<T, any Error>) {
        let ready: Result<T, any Error>? = lock.withLock {
            if let pending, !resumed {
                resumed = true
                return pending
            }
            self.continuation = continuation
            return nil
        }
        if let ready { continuation.resume(with: ready) }
    }

    func resume(_ result: Result<T, any Error>) {
        let target: CheckedContinuation<T, any Error>? = lock.withLock {
            guard !resumed else { return nil }
            guard let continuation else {
                if pending == nil { pending = result }
                return nil
            }
            resumed = true
            self.continuation = nil
            return continuation
        }
        target?.resume(with: result)
    }

    func cancel() {
        resume(.failure(CancellationError()))
        onCancel?()
    }
}
