import ApplianceKit
import ArgumentParser
import BuildInfo

/// `appliance` — the online intermediate CA (docs/commands.md#appliance). Parses input, wires ApplianceKit and
/// translates results; nothing here decides.
struct ApplianceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appliance",
        abstract: "Rootkeeper online intermediate CA: EST over mTLS, CRL, OCSP, administration.",
        version: RootkeeperBuild.versionText(tool: "appliance"),
        subcommands: [
            InitCommand.self, IntermediateCommand.self, ServeCommand.self, AgentsCommand.self,
            CertsCommand.self, AdminsCommand.self, CRLCommand.self, AuditCommand.self, BackupCommand.self, DoctorCommand.self, DemoCommand.self,
            StoreCommand.self,
        ])
}

/// `--state-dir`, shared by every subcommand. With `--config`, a configuration (file or
/// ROOTKEEPER_STATE_DIRECTORY) naming another directory is a conflict, refused by `loadConfiguration`.
struct StateOptions: ParsableArguments {
    @Option(name: .customLong("state-dir"), help: "State directory (docs/files.md#state-directory layout; default /var/lib/rootkeeper).")
    var explicitStateDirectory: String?

    /// The directory given, or the default.
    var stateDirectory: String { explicitStateDirectory ?? ApplianceConfiguration().stateDirectory }
}

/// How secrets reach the appliance: never in argv (docs/commands.md#secrets).
struct SecretOptions: ParsableArguments {
    @Option(name: .customLong("passphrase-file"), help: "File (mode 0600) holding the key passphrase.")
    var passphraseFile: String?
    @Option(name: .customLong("passphrase-fd"), help: "Open file descriptor to read the key passphrase from.")
    var passphraseFD: Int32?
    @Option(name: .customLong("pin-source"), help: "Where the PKCS#11 PIN comes from, as for `ceremony`.")
    var pinSource: String?
}
