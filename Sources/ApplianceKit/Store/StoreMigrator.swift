import CAStore
import Foundation
import Logging
import PKICore
import Registration

/// `appliance store migrate`: moves a single node's SQLite store into the PostgreSQL store its
/// configuration names (docs/configuration.md#store, Runbooks/ha-postgresql.md).
public enum StoreMigrator {
    /// Copies `<state>/db/rootkeeper.sqlite` into the configured PostgreSQL database, which must
    /// be empty, checks the copy (row counts, a digest of every certificate record, the audit
    /// chain's head) and records the migration as the next audit event of the same chain.
    /// Returns lines for the operator. Run it with the appliance stopped: writes made to the
    /// SQLite file after the copy would not be carried over.
    public static func migrate(configuration: ApplianceConfiguration, clock: any PKIClock = SystemClock(), logger: Logger)
        async throws -> [String]
    {
        guard configuration.store.kind == .postgresql else {
            throw ApplianceError.configuration(
                "store.kind", "the configuration's store is sqlite; set store.kind: postgresql (and its hosts, database, user) to name the target")
        }
        let state = StateDirectory(path: configuration.stateDirectory)
        let path = state.path("db", "rootkeeper.sqlite")
        guard FileManager.default.fileExists(atPath: path) else {
            throw ApplianceError.configuration("state_directory", "no SQLite store at \(path) to migrate")
        }
        let source = try SQLiteStore(path: path, options: .init(readOnly: true))
        let settings = try configuration.postgreSQLConfiguration()
        let target = try await PostgreSQLStore(configuration: settings, logger: logger)
        defer { target.close() }
        let summary = try await SQLiteToPostgreSQLMigration.run(from: source, to: target)
        let event = try await target.append(
            AuditEntry(
                time: clock.now(), actor: "system", action: "store.migrated", subject: settings.description,
                details: [
                    "from": path, "certificates": String(summary.counts["certificates"] ?? 0),
                    "certificate_digest": summary.certificateDigest, "previous_head": summary.auditHead,
                ]))
        var lines = ["migrated \(path) into \(settings.description)"]
        for (table, count) in summary.counts.sorted(by: { $0.key < $1.key }) { lines.append("  \(table): \(count) rows") }
        lines.append("certificate digest (SHA-256 over every certificate row, equal on both sides): \(summary.certificateDigest)")
        lines.append("audit chain: \(summary.auditEvents) events copied, head \(summary.auditHead); continued by event \(event.seq) (store.migrated)")
        lines.append("next: set this node's store to the PostgreSQL database (it is) and start it; keep \(path) as the pre-migration copy")
        return lines
    }
}
