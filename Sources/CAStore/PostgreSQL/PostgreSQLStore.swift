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
    public struct Configuration: Sendable, Equatable {
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

        public init(hosts: [Host], database: String, user: String, password: String? = nil, tlsCAFile: String? = nil,
                    maximumConnections: Int = 16, connectTimeout: TimeInterval = 5) {
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
    /// The host the pool connects to (the first writable one at open).
    public let activeHost: Configuration.Host
    let client: PostgresClient
    let runTask: Task<Void, Never>
    let logger: Logger

    /// Connects (to the first writable host of the list), migrates the schema under an advisory
    /// lock (nodes starting together migrate once) and refuses a database written by a newer
    /// Rootkeeper. Throws `StoreError` `unavailable` when no host accepts writes.
    public init(configuration: Configuration, logger: Logger = Logger(label: "rootkeeper.store.postgresql")) async throws {
        guard !configuration.hosts.isEmpty else { throw StoreError(.invalidArgument, "no PostgreSQL host configured") }
        self.configuration = configuration
        self.logger = logger
        let tls = try Self.tls(configuration)
        let host = try await Self.firstWritableHost(configuration, tls: tls, logger: logger)
        activeHost = host
        var options = PostgresClient.Configuration.Options()
        options.maximumConnections = max(1, configuration.maximumConnections)
        options.connectTimeout = .milliseconds(Int64(configuration.connectTimeout * 1000))
        options.keepAliveBehavior = .init(frequency: .seconds(10))
        var clientConfiguration = PostgresClient.Configuration(
            host: host.host, port: host.port, username: configuration.user, password: configuration.password,
            database: configuration.database, tls: tls)
        clientConfiguration.options = options
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        self.client = client
        runTask = Task { await client.run() }
        do {
            try await PostgreSQLSchema.migrate(self)
        } catch {
            runTask.cancel()
            throw Self.translate(error, "migrating \(configuration.description)")
        }
    }

    deinit { runTask.cancel() }

    /// Closes the pool; later calls fail with `unavailable`.
    public func close() { runTask.cancel() }

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
    static func firstWritableHost(_ configuration: Configuration, tls: PostgresClient.Configuration.TLS,
                                  logger: Logger) async throws -> Configuration.Host {
        var failures: [String] = []
        for (index, host) in configuration.hosts.enumerated() {
            var connection = PostgresConnection.Configuration(
                host: host.host, port: host.port, username: configuration.user, password: configuration.password,
                database: configuration.database, tls: Self.connectionTLS(tls, configuration))
            connection.options.connectTimeout = .milliseconds(Int64(configuration.connectTimeout * 1000))
            do {
                let conn = try await PostgresConnection.connect(configuration: connection, id: index, logger: logger)
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
        throw StoreError(.unavailable, """
            no writable PostgreSQL host for database \(configuration.database) as \(configuration.user) — \
            \(failures.joined(separator: "; ")). Check that the server runs, the host list in `store.hosts`, and the credentials
            """)
    }

    static func connectionTLS(_ tls: PostgresClient.Configuration.TLS, _ configuration: Configuration) -> PostgresConnection.Configuration.TLS {
        guard configuration.tlsCAFile != nil, let pool = try? Self.connectionTLSConfiguration(configuration) else { return .disable }
        return .require(pool)
    }

    static func connectionTLSConfiguration(_ configuration: Configuration) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let path = configuration.tlsCAFile { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path)) }
        tls.certificateVerification = .fullVerification
        return try NIOSSLContext(configuration: tls)
    }
}
