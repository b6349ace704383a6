import Foundation
import Logging
import NIOCore
import PostgresNIO
import Registration

/// CRL publisher leadership on PostgreSQL (docs/architecture.md#crl-leadership): a session-level
/// advisory lock per issuer, held on one connection outside the pool. PostgreSQL releases a
/// session lock when its connection ends — the holder exits, is killed, or loses the network —
/// so another node's next attempt (once a second) takes over.
extension PostgreSQLStore: CRLLeadership {
    public func holdsCRLLeadership(issuerSKI: String) async throws -> Bool {
        do {
            return try await leaderLock.holds(issuerSKI: issuerSKI, store: self)
        } catch {
            await failoverIfNeeded(after: error)
            throw Self.translate(error, "CRL publisher lock of \(issuerSKI)")
        }
    }

    public func storeSharedCRL(issuerSKI: String, number: Int64, der: [UInt8]) async throws {
        try await transaction("shared CRL \(number) of \(issuerSKI)") { s in
            try await s.execute(
                """
                INSERT INTO crl_current (issuer_ski, number, der) VALUES (\(issuerSKI), \(number), \(ByteBuffer(bytes: der)))
                ON CONFLICT (issuer_ski) DO UPDATE SET number = EXCLUDED.number, der = EXCLUDED.der
                WHERE crl_current.number < EXCLUDED.number
                """)
        }
    }

    public func sharedCRL(issuerSKI: String, newerThan number: Int64) async throws -> SharedCRL? {
        try await read("shared CRL of \(issuerSKI)") { s in
            guard let row = try await s.row("SELECT number, der FROM crl_current WHERE issuer_ski = \(issuerSKI) AND number > \(number)")
            else { return nil }
            return SharedCRL(number: try row.int64("number"), der: try Self.required(try row.bytes("der"), "shared CRL bytes"))
        }
    }

    /// The key of `issuerSKI`'s publisher lock: the two-integer form of pg_try_advisory_lock
    /// (its own key space, apart from the single-bigint transaction locks of ``AdvisoryLock``),
    /// "RkCL" and the SKI's first four bytes. Two issuers sharing those bytes would share one
    /// leader, which is harmless.
    static func crlLockKey(_ issuerSKI: String) -> (Int32, Int32) {
        let prefix = UInt32(issuerSKI.prefix(8), radix: 16) ?? 0
        return (0x526B_434C, Int32(bitPattern: prefix))
    }
}

/// The connection holding this node's CRL publisher locks, and which issuers it holds.
actor CRLLeaderLock {
    private var connection: PostgresConnection?
    private var host: PostgreSQLStore.Configuration.Host?
    private var held: Set<String> = []

    // A connection must be closed before it is released (postgres-nio asserts it): the task
    // keeps it alive until it is.
    deinit {
        if let connection { Task { try? await connection.close() } }
    }

    /// Whether this node holds `issuerSKI`'s lock now, taking it if free. A held lock is
    /// re-checked with a round trip (a connection the server dropped holds nothing); the
    /// connection follows the store to a new primary (locks do not survive a failover).
    func holds(issuerSKI: String, store: PostgreSQLStore) async throws -> Bool {
        let active = store.activeHost
        if let current = connection, current.isClosed || host != active { drop() }
        do {
            let session = PostgreSQLSession(connection: try await connect(store, active), logger: store.logger)
            if held.contains(issuerSKI) {
                try await session.execute("SELECT 1")
                return true
            }
            let (space, key) = PostgreSQLStore.crlLockKey(issuerSKI)
            let taken = try await session.row("SELECT pg_try_advisory_lock(\(space), \(key)) AS taken").map { try $0.bool("taken") } ?? false
            if taken { held.insert(issuerSKI) }
            return taken
        } catch {
            drop()
            throw error
        }
    }

    private func connect(_ store: PostgreSQLStore, _ active: PostgreSQLStore.Configuration.Host) async throws -> PostgresConnection {
        if let connection { return connection }
        let opened = try await PostgresConnection.connect(
            configuration: try PostgreSQLStore.connectionConfiguration(store.configuration, host: active), id: 1_000,
            logger: store.logger)
        connection = opened
        host = active
        return opened
    }

    /// Forgets the connection (closing it releases every lock it held).
    func drop() {
        held = []
        host = nil
        if let connection {
            self.connection = nil
            Task { try? await connection.close() }
        }
    }
}
