import ApplianceKit
import ArgumentParser
import Foundation
import Logging

/// `appliance store migrate` (docs/commands.md#appliance-store, docs/configuration.md#store).
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Move the store from SQLite to PostgreSQL (several nodes, one database).",
        subcommands: [Migrate.self])

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the state directory's SQLite store into the (empty) PostgreSQL store the configuration names.",
            discussion: """
                Stop the appliance first. Every row is copied in one transaction (the target must be empty), then \
                checked: row counts, a SHA-256 of every certificate row as each store reads it, and the audit chain, \
                which continues on PostgreSQL with a store.migrated event. The SQLite file is left as it was.
                Example:
                  appliance store migrate --state-dir /var/lib/rootkeeper --config /etc/rootkeeper/appliance.yaml
                """)
        @OptionGroup var state: StateOptions
        @Option(help: "Configuration file (YAML) whose store: section (kind: postgresql) names the target.") var config: String

        func run() async throws {
            let configuration = try loadConfiguration(config, state: state)
            var logger = Logger(label: "rootkeeper.store.migrate")
            logger.logLevel = .warning
            for line in try await StoreMigrator.migrate(configuration: configuration, logger: logger) { print(line) }
        }
    }
}
