import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Registration

/// The shared store of several appliance nodes: one PostgreSQL database through postgres-nio
/// (async, a bounded connection pool; docs/architecture.md#stores).
///
/// Same semantics as ``SQLiteStore``, which has one writer; here several nodes write at once, so:
/// - every unit of work (``perform(_:)``) is one `READ COMMITTED` transaction whose precondition
///   reads are `SELECT … FOR UPDATE` on the rows it checks, and whose uniqueness rules are the same
///   partial unique indexes (SQLSTATE 23505 → `conflict`);
/// - a token is consumed by a guarded `UPDATE … WHERE consumed_at IS NULL … RETURNING` (zero rows →
///   `tokenUnavailable`), so two nodes consuming one token at once yield one certificate;
/// - CRL numbers come from an upsert (`INSERT … ON CONFLICT DO UPDATE … RETURNING`), atomic and
///   clock-free;
/// - units that revoke or audit take transaction-scoped advisory locks first, always in the same
///   order (revocations, then audit): the revocation sequence is then assigned in commit order (a
///   SEQUENCE is not: a lower number can commit later and a CRL publisher reading "after N" would
///   miss it) and two nodes never extend the same audit head.
/// Times are stored as `double precision` seconds since 1970, exactly as in SQLite, so a record
/// round-trips bit for bit and `appliance store migrate` copies without rounding.
public final class PostgreSQLStore: RegistrationDataStore {
    /// Where and how to connect (the `store:` section of the configuration, docs/configuration.md#store).
    public struct Configuration: Sendable, Equatable, CustomStringConvertible {
        public struct Host: Sendable, Equatable, CustomStringConvertible {
            public var host: String
            public var port: Int
            public init(host: String, port: Int = 5432) {
                self.host = host
                self.port = port
            }
            public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
        }
        /// Tried in order; the first that accepts writes (not in recovery) is used.
        public var hosts: [Host]
        public var database: String
        public var user: String
        /// Never logged, never in an error message.
        public var password: String?
        /// PEM file of the CA that signed the server's certificate; when set, TLS is required and the
        /// server's name is verified against the host (libpq's `sslmode=verify-full`).
        public var tlsCAFile: String?
        /// Upper bound of the connection pool.
        public var maximumConnections: Int
        public var connectTimeout: TimeInterval

        public init(
            hosts: [Host], database: String, user: String, password: String? = nil, tlsCAFile: String? = nil,
            maximumConnections: Int = 16, connectTimeout: TimeInterval = 5
        ) {
            self.hosts = hosts
            self.database = database
            self.user = user
            self.password = password
            self.tlsCAFile = tlsCAFile
            self.maximumConnections = maximumConnections
            self.connectTimeout = connectTimeout
        }

        public static func == (a: Self, b: Self) -> Bool {
            a.hosts == b.hosts && a.database == b.database && a.user == b.user && a.password == b.password
                && a.tlsCAFile == b.tlsCAFile && a.maximumConnections == b.maximumConnections
        }

        /// The database as people name it (no password).
        public var description: String {
            "postgresql://\(user)@\(hosts.map(\.description).joined(separator: ","))/\(database)"
        }
    }

    public let configuration: Configuration
    /// The pool in use and the host it connects to; replaced when a failover moves the primary.
    let connection: ConnectionBox
    let logger: Logger
    let tls: PostgresClient.Configuration.TLS
    /// This node's CRL publisher locks (``CRLLeadership``), on a connection of their own.
    let leaderLock = CRLLeaderLock()

    /// The host the pool connects to: the first writable one at open, or after a failover.
    public var activeHost: Configuration.Host { connection.current.host }
    var client: PostgresClient { connection.current.client }

    /// Connects (to the first writable host of the list), migrates the schema under an advisory
    /// lock (nodes starting together migrate once) and refuses a database written by a newer
    /// Rootkeeper. Throws `StoreError` `unavailable` when no host accepts writes.
    public init(configuration: Configuration, logger: Logger = Logger(label: "rootkeeper.store.postgresql")) async throws {
        guard !configuration.hosts.isEmpty else { throw StoreError(.invalidArgument, "no PostgreSQL host configured") }
        self.configuration = configuration
        self.logger = logger
        let tls = try Self.tls(configuration)
        self.tls = tls
        let host = try await Self.firstWritableHost(configuration, tls: tls, logger: logger)
        connection = ConnectionBox(Self.pool(configuration, host: host, tls: tls, logger: logger))
        do {
            try await PostgreSQLSchema.migrate(self)
        } catch {
            connection.close()
            throw Self.translate(error, "migrating \(configuration.description)")
        }
    }

    deinit { connection.close() }

    /// Closes the pool and gives up any CRL publisher lock; later calls fail with `unavailable`.
    public func close() {
        connection.close()
        let lock = leaderLock
        Task { await lock.drop() }
    }

    /// A running pool to `host`.
    static func pool(
        _ configuration: Configuration, host: Configuration.Host, tls: PostgresClient.Configuration.TLS,
        logger: Logger
    ) -> ConnectionBox.Pool {
        var options = PostgresClient.Configuration.Options()
        options.maximumConnections = max(1, configuration.maximumConnections)
        options.connectTimeout = .milliseconds(Int64(configuration.connectTimeout * 1000))
        options.keepAliveBehavior = .init(frequency: .seconds(10))
        var clientConfiguration = PostgresClient.Configuration(
            host: host.host, port: host.port, username: configuration.user, password: configuration.password,
            database: configuration.database, tls: tls)
        clientConfiguration.options = options
        // The pool logs every failed connection attempt at info (one a few ms while a server is
        // down); this store reports what matters itself.
        var background = logger
        if background.logLevel < .warning { background.logLevel = .warning }
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: background)
        return ConnectionBox.Pool(client: client, host: host, run: Task { await client.run() })
    }

    /// After a failure that may mean the primary moved (no connection, connection lost, server
    /// shutting down, or a read-only standby answering), probes the host list again — at most once
    /// a second — and moves the pool to the first writable host if that is another one. The
    /// failed operation still fails (`unavailable`); the next one uses the new primary.
    func failoverIfNeeded(after error: any Error) async {
        guard Self.mayMeanFailover(error), connection.beginProbe() else { return }
        defer { connection.endProbe() }
        do {
            let host = try await Self.firstWritableHost(configuration, tls: tls, logger: logger)
            connection.setUnwritable(nil)
            guard host != activeHost else { return }
            logger.warning("store: the writable PostgreSQL host is now \(host) (was \(activeHost)); moving the pool")
            connection.replace(Self.pool(configuration, host: host, tls: tls, logger: logger))
        } catch {
            connection.setUnwritable(Self.describe(error))
            logger.error("store: no writable PostgreSQL host: \(Self.describe(error))")
        }
    }

    /// After a success while marked unwritable: probe (at most once a second) whether a writable
    /// host is back, so `/health` recovers without waiting for a write.
    func recheckWritability() async {
        guard connection.unwritableReason != nil, connection.beginProbe() else { return }
        defer { connection.endProbe() }
        if let host = try? await Self.firstWritableHost(configuration, tls: tls, logger: logger) {
            connection.setUnwritable(nil)
            if host != activeHost { connection.replace(Self.pool(configuration, host: host, tls: tls, logger: logger)) }
        }
    }

    static func mayMeanFailover(_ error: any Error) -> Bool {
        if let store = error as? StoreError { return store.code == .unavailable }
        guard let psql = error as? PSQLError else { return false }
        guard let state = psql.serverInfo?[.sqlState] else { return true }  // no server answer
        return state == "25006" || state.hasPrefix("57P") || state.hasPrefix("08")
    }

    /// TLS to the server: none, or required with the pinned CA and the host name verified.
    static func tls(_ configuration: Configuration) throws -> PostgresClient.Configuration.TLS {
        guard let path = configuration.tlsCAFile else { return .disable }
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
        } catch {
            throw StoreError(.unavailable, "cannot read the PostgreSQL CA certificate \(path): \(error)")
        }
        tls.certificateVerification = .fullVerification
        return .require(tls)
    }

    /// Probes each host in order with one connection: the first that answers and is not in
    /// recovery (a primary) wins. Reasons for the others are kept for the error.
    static func firstWritableHost(
        _ configuration: Configuration, tls: PostgresClient.Configuration.TLS,
        logger: Logger
    ) async throws -> Configuration.Host {
        var failures: [String] = []
        for (index, host) in configuration.hosts.enumerated() {
            do {
                let conn = try await PostgresConnection.connect(
                    configuration: try Self.connectionConfiguration(configuration, host: host), id: index, logger: logger)
                defer { Task { try? await conn.close() } }
                var inRecovery = true
                for try await value in try await conn.query("SELECT pg_is_in_recovery()", logger: logger).decode(Bool.self) {
                    inRecovery = value
                }
                if !inRecovery { return host }
                failures.append("\(host): read-only (a standby in recovery)")
            } catch {
                failures.append("\(host): \(Self.describe(error))")
            }
        }
        throw StoreError(
            .unavailable,
            """
            no writable PostgreSQL host for database \(configuration.database) as \(configuration.user) — \
            \(failures.joined(separator: "; ")). Check that the server runs, the host list in `store.hosts`, and the credentials
            """)
    }

    /// One connection outside the pool to `host` (the probe, the CRL publisher lock), TLS as the pool's.
    static func connectionConfiguration(_ configuration: Configuration, host: Configuration.Host) throws -> PostgresConnection.Configuration {
        var connection = PostgresConnection.Configuration(
            host: host.host, port: host.port, username: configuration.user, password: configuration.password,
            database: configuration.database, tls: try Self.connectionTLS(configuration))
        connection.options.connectTimeout = .milliseconds(Int64(configuration.connectTimeout * 1000))
        return connection
    }

    /// TLS for the probe connection. With `tls_ca` set TLS is required: a context that cannot be
    /// built fails the probe (fail closed), it never downgrades the connection to plaintext.
    static func connectionTLS(_ configuration: Configuration) throws
        -> PostgresConnection.Configuration.TLS
    {
        guard let path = configuration.tlsCAFile else { return .disable }
        do {
            return .require(try Self.connectionTLSConfiguration(configuration))
        } catch {
            throw StoreError(.unavailable, "cannot set up TLS to PostgreSQL with the CA certificate \(path): \(Self.describe(error))")
        }
    }

    static func connectionTLSConfiguration(_ configuration: Configuration) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let path = configuration.tlsCAFile { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path)) }
        tls.certificateVerification = .fullVerification
        return try NIOSSLContext(configuration: tls)
    }
}

extension PostgreSQLStore: StoreWritability {
    public var unwritableReason: String? { connection.unwritableReason }
}

/// The store's current pool, swapped under a lock by a failover.
final class ConnectionBox: @unchecked Sendable {
    private var unwritable: String?
    var unwritableReason: String? { lock.withLock { unwritable } }
    func setUnwritable(_ reason: String?) { lock.withLock { unwritable = reason } }

    struct Pool {
        let client: PostgresClient
        let host: PostgreSQLStore.Configuration.Host
        let run: Task<Void, Never>
    }
    private let lock = NSLock()
    private var pool: Pool
    private var probing = false
    private var lastProbe: ContinuousClock.Instant?
    private var closed = false

    init(_ pool: Pool) { self.pool = pool }

    var current: Pool { lock.withLock { pool } }

    func replace(_ new: Pool) {
        let old: Pool? = lock.withLock {
            guard !closed else { return nil }
            let old = pool
            pool = new
            return old
        }
        guard let old else {
            new.run.cancel()
            return
        }
        old.run.cancel()
    }

    /// Whether this caller may probe now (no other probe running, none in the last second).
    func beginProbe() -> Bool {
        lock.withLock {
            let now = ContinuousClock.now
            guard !probing, !closed, lastProbe.map({ now - $0 >= .seconds(1) }) ?? true else { return false }
            probing = true
            lastProbe = now
            return true
        }
    }

    func endProbe() { lock.withLock { probing = false } }

    func close() {
        let run = lock.withLock {
            closed = true
            return pool.run
        }
        run.cancel()
    }
}
