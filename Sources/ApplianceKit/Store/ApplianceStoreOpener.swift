import CAStore
import Foundation
import Logging
import Registration

/// Everything the running appliance needs from its store.
public typealias ApplianceDataStore = RegistrationDataStore & IssuerActivityStore & CertificateExpiryLookup & StoreWritability
    & CRLLeadership

/// Opens the store the configuration names (docs/configuration.md#store): the SQLite file in the
/// state directory (default), or the shared PostgreSQL database of several nodes.
public enum ApplianceStoreOpener {
    public static func open(_ configuration: ApplianceConfiguration, state: StateDirectory, logger: Logger) async throws
        -> any ApplianceDataStore
    {
        switch configuration.store.kind {
        case .sqlite:
            return try SQLiteStore(path: state.path("db", "rootkeeper.sqlite"))
        case .postgresql:
            let settings = try configuration.postgreSQLConfiguration()
            let store = try await PostgreSQLStore(configuration: settings, logger: logger)
            logger.info("store: PostgreSQL \(settings.description), using \(store.activeHost)")
            return store
        }
    }
}

/// One batched query per page of serials (PostgreSQLStore+Revocation.swift), as SQLite's.
extension PostgreSQLStore: CertificateExpiryLookup {}
