import ArgumentParser

/// `appliance` — the online intermediate CA (DESIGN §4). Parses input, wires ApplianceKit and
/// translates results; nothing here decides.
@main
struct ApplianceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appliance",
        abstract: "Rootkeeper online intermediate CA: EST over mTLS, CRL, OCSP, administration.",
        subcommands: [
            InitCommand.self, IntermediateCommand.self, ServeCommand.self, AgentsCommand.self,
            CertsCommand.self, CRLCommand.self, AuditCommand.self, BackupCommand.self, DemoCommand.self,
        ])
}

/// `--state-dir`, shared by every subcommand.
struct StateOptions: ParsableArguments {
    @Option(name: .customLong("state-dir"), help: "State directory (DESIGN §4 layout).")
    var stateDirectory: String = "/var/lib/rootkeeper"
}

/// How secrets reach the appliance: never in argv (DESIGN §4).
struct SecretOptions: ParsableArguments {
    @Option(name: .customLong("passphrase-file"), help: "File (mode 0600) holding the key passphrase.")
    var passphraseFile: String?
    @Option(name: .customLong("passphrase-fd"), help: "Open file descriptor to read the key passphrase from.")
    var passphraseFD: Int32?
    @Option(name: .customLong("pin-source"), help: "Where the PKCS#11 PIN comes from, as for `ceremony`.")
    var pinSource: String?
}
