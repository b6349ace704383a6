import CAStore
import Foundation
import Registration
import Testing

/// The one list of stores tests are parameterised over (docs/conventions.md#store-conformance):
/// the same decisions and the same conformance suite must come out of every backend.
/// `postgresql` runs against a real server: the throwaway cluster of this test process
/// (``PostgreSQLCluster/shared()``, started on first use) or `ROOTKEEPER_TEST_POSTGRES_URL`; without
/// PostgreSQL binaries its cases fail with what to install.
public enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case inMemory
    case sqliteFile
    case postgresql

    public var testDescription: String { rawValue }

    /// A fresh, empty store of this kind: SQLite as `rootkeeper.sqlite` in `directory`, PostgreSQL
    /// in a new database of the shared cluster (``TestStore/remove()`` drops it).
    public func makeStore(in directory: TemporaryDirectory) async throws -> TestStore {
        switch self {
        case .inMemory:
            return TestStore(store: InMemoryStore(), postgres: nil)
        case .sqliteFile:
            return TestStore(store: try SQLiteStore(path: directory.file("rootkeeper.sqlite")), postgres: nil)
        case .postgresql:
            let cluster = try PostgreSQLCluster.shared()
            let database = try cluster.createDatabase(prefix: "castore")
            let store = try await PostgreSQLStore(configuration: Self.configuration(cluster, database: database))
            return TestStore(store: store, postgres: (cluster, database))
        }
    }

    /// How the store reaches `database` on `cluster` (trust authentication on loopback).
    public static func configuration(_ cluster: PostgreSQLCluster, database: String, maximumConnections: Int = 8) -> PostgreSQLStore.Configuration {
        PostgreSQLStore.Configuration(
            hosts: [.init(host: cluster.host, port: cluster.port)], database: database,
            user: cluster.user, maximumConnections: maximumConnections)
    }
}

/// A store made by ``StoreKind/makeStore(in:)``, and the PostgreSQL database it lives in.
public struct TestStore: Sendable {
    public let store: any RegistrationDataStore
    /// The PostgreSQL server and database of a `postgresql` store.
    public let postgres: (cluster: PostgreSQLCluster, database: String)?

    /// Closes a PostgreSQL store and drops its database (files are the caller's directory's).
    public func remove() {
        guard let postgres else { return }
        (store as? PostgreSQLStore)?.close()
        postgres.cluster.dropDatabase(postgres.database)
    }
}
