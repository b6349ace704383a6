import ApplianceKit
import ArgumentParser
import Foundation
import PKICore
import SecureFiles

/// `appliance backup create|verify|restore` (docs/commands.md#appliance-backup, docs/backup-format.md).
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Back up, verify or restore the state (encrypted archive, see docs/backup-format.md).",
        subcommands: [Create.self, Verify.self, Restore.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an encrypted backup of the state; safe while the appliance is serving.",
            discussion: """
                The database is copied as one consistent online snapshot. The archive holds the database, ca/ \
                certificates (and the encrypted intermediate key file when the key is not in a token), crl/, \
                server/ certificates, audit/audit.jsonl and the --config file. It is written to a temporary file \
                beside --out, fsynced and renamed; on any error no file named --out exists. Mode 0600.
                Example:
                  appliance backup create --state-dir /var/lib/rootkeeper --config /etc/rootkeeper/appliance.yaml \\
                    --out /srv/backup/rootkeeper-$(date +%F).rkbackup --passphrase-file /etc/rootkeeper/backup.passphrase
                """)
        @OptionGroup var state: StateOptions
        @OptionGroup var passphrase: BackupPassphraseOptions
        @Option(help: "Configuration file (YAML) to include; its state_directory is the one backed up.") var config: String?
        @Option(help: "Backup file to write (must not exist).") var out: String
        @Option(help: "Encrypt to this X25519 public key (PEM) instead of a passphrase; restore then needs --identity.")
        var recipient: String?

        func run() async throws {
            let configuration = try loadConfiguration(config, state: state)
            // A PostgreSQL node's records are not in its state directory: a db/rootkeeper.sqlite
            // there is the copy `store migrate` left behind, and backing it up would look like a
            // backup of the CA while missing everything issued since (fail closed).
            guard configuration.store.kind == .sqlite else {
                throw CommandFailure(
                    """
                    this node's records live in PostgreSQL (store.kind: postgresql), and `appliance backup` reads only a \
                    SQLite store (a db/rootkeeper.sqlite in the state directory is the pre-migration copy, not the current \
                    records): back up the database with pg_dump or PITR and the state directory without db/, as \
                    Runbooks/ha-postgresql.md §8 shows
                    """)
            }
            guard passphrase.identity == nil else {
                throw CommandFailure("--identity opens archives (verify, restore); to create one for a key pair use --recipient PUB.pem")
            }
            let key: BackupKeyMaterial
            if let recipient {
                guard passphrase.passphraseFile == nil, passphrase.passphraseFD == nil else {
                    throw CommandFailure("give either --recipient or a passphrase source, not both")
                }
                key = try BackupKeyMaterial.recipient(pemFile: recipient)
            } else {
                key = .passphrase(try passphrase.read(confirming: true))
            }
            let summary = try BackupWriter().create(
                state: StateDirectory(path: configuration.stateDirectory), configurationFile: config, key: key, destination: out)
            print("backup written to \(out)")
            summary.lines.forEach { print($0) }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decrypt and check every chunk and file hash of a backup, writing nothing; print what it holds.")
        @OptionGroup var passphrase: BackupPassphraseOptions
        @Option(help: "Backup file.") var file: String

        func run() async throws {
            let contents = try BackupReader().read(file: file, key: try passphrase.openingKey())
            print("backup OK: every chunk authenticated and every file matches its SHA-256")
            contents.summary.lines.forEach { print($0) }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore a backup into a new or empty state directory, after verifying all of it.",
            discussion: """
                Nothing is written until the whole archive has decrypted and verified. A non-empty --state-dir is \
                refused. Then `appliance serve` on the restored directory serves the same CRL number or a higher one \
                and knows every certificate. The intermediate key file (if any) keeps its own passphrase.
                Example:
                  appliance backup restore --file rootkeeper.rkbackup --state-dir /var/lib/rootkeeper \\
                    --config-out /etc/rootkeeper/appliance.yaml --owner rootkeeper --passphrase-file backup.passphrase
                """)
        @OptionGroup var state: StateOptions
        @OptionGroup var passphrase: BackupPassphraseOptions
        @Option(help: "Backup file.") var file: String
        @Option(name: .customLong("config-out"), help: "Write the archived configuration file here (must not exist).") var configOut: String?
        @Option(help: "Hand the restored files to this user (the account `serve` runs as).") var owner: String?

        func run() async throws {
            var account: (uid: uid_t, gid: gid_t)?
            if let owner {
                guard let entry = SystemAccount.named(owner) else { throw CommandFailure("user '\(owner)' does not exist") }
                account = (entry.uid, entry.gid)
            }
            let summary = try BackupRestorer().restore(
                file: file, key: try passphrase.openingKey(), stateDirectory: state.stateDirectory,
                configurationOut: configOut, owner: account)
            print("restored into \(state.stateDirectory)")
            summary.lines.forEach { print($0) }
            if summary.includesConfiguration && configOut == nil {
                print("note: the archive holds a configuration file; pass --config-out PATH to write it")
            }
        }
    }
}

/// The backup passphrase: `--passphrase-file` (0600), `--passphrase-fd N` or a prompt; never argv.
struct BackupPassphraseOptions: ParsableArguments {
    @Option(name: .customLong("passphrase-file"), help: "File (mode 0600) holding the backup passphrase.")
    var passphraseFile: String?
    @Option(name: .customLong("passphrase-fd"), help: "Open file descriptor to read the backup passphrase from.")
    var passphraseFD: Int32?
    @Option(help: "X25519 private key (PEM, mode 0600) of a --recipient archive (verify, restore).")
    var identity: String?

    /// The key that opens an archive: the --identity key, or the passphrase.
    func openingKey() throws -> BackupKeyMaterial {
        if let identity {
            guard passphraseFile == nil, passphraseFD == nil else { throw CommandFailure("give either --identity or a passphrase source, not both") }
            return try BackupKeyMaterial.identity(pemFile: identity)
        }
        return .passphrase(try read(confirming: false))
    }

    func read(confirming: Bool) throws -> SecretBytes {
        if let passphraseFile { return try SecretSource.file(passphraseFile).read(prompt: "") }
        if let passphraseFD { return try SecretSource.fileDescriptor(passphraseFD).read(prompt: "") }
        let secret = try SecretSource.prompt.read(prompt: "Backup passphrase: ")
        if confirming {
            let again = try SecretSource.prompt.read(prompt: "Backup passphrase (again): ")
            guard secret.isEqual(to: again) else { throw CommandFailure("the two passphrases differ") }
        }
        return secret
    }
}
