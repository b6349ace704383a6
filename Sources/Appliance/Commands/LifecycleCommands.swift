import ApplianceKit
import ArgumentParser
import BuildInfo
import Foundation
import Logging
import PKICore
import SecureFiles

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the state directory, the intermediate key and a CSR bundle for the ceremony.",
        discussion: """
            The key is an encrypted PKCS#8 file (passphrase from --passphrase-file (0600), --passphrase-fd
            or a prompt) or, with pkcs11.token set in the configuration, generated in the token (PIN from
            --pin-source). The CSR bundle goes to <media>/intermediate-csr for the intermediate ceremony.
            Example:
              appliance init --state-dir /var/lib/rootkeeper --config appliance.yaml --media /media/ROOTKEEPER \\
                --passphrase-file /etc/rootkeeper/intermediate.passphrase
            """)
    @OptionGroup var state: StateOptions
    @OptionGroup var secrets: SecretOptions
    @Option(help: "Configuration file (YAML).") var config: String?
    @Option(help: "Media directory; the CSR bundle is written to <media>/intermediate-csr.") var media: String

    func run() async throws {
        let configuration = try loadConfiguration(config, state: state)
        let result = try await ApplianceSetup.initialize(
            stateDirectory: StateDirectory(path: configuration.stateDirectory), configuration: configuration.intermediateRequest(),
            keyBackend: try secrets.keyBackend(configuration, confirming: true), media: media)
        print("intermediate CSR bundle written to \(result.bundlePath)")
        print("")
        print(result.printout, terminator: "")
        print("")
        print("Print \(result.printoutPath) and hand it to the ceremony officers (not on the media).")
    }
}

struct IntermediateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intermediate", abstract: "Intermediate CA renewal: new key + CSR, install ceremony output.",
        subcommands: [CSR.self, Install.self])

    struct CSR: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a new intermediate key and CSR bundle (renewal; the current key keeps signing until install).",
            discussion: "A file key must use the current key's passphrase (serve unlocks both with it); a token key goes on the same token.")
        @OptionGroup var state: StateOptions
        @OptionGroup var secrets: SecretOptions
        @Option(help: "Configuration file (YAML).") var config: String?
        @Option(help: "Directory to write the CSR bundle to (must not exist).") var out: String

        func run() async throws {
            let configuration = try loadConfiguration(config, state: state)
            let result = try await ApplianceSetup.intermediateCSR(
                stateDirectory: StateDirectory(path: configuration.stateDirectory), configuration: configuration.intermediateRequest(),
                keyBackend: try secrets.keyBackend(configuration, confirming: true), out: out)
            print("intermediate CSR bundle written to \(result.bundlePath)")
            print("")
            print(result.printout, terminator: "")
            print("")
            print("Print \(result.printoutPath) and hand it to the ceremony officers (not on the media).")
        }
    }

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install ceremony output, verifying the MANIFEST, our key, and the chain to the pinned root.",
            discussion: """
                On renewal the replaced intermediate becomes a retiring issuer (ca/issuers/<ski>/): it stays in
                cacerts, the chain, mTLS trust, with its own CRL (/crl/issuer/<ski>.crl) and OCSP, until its last
                certificate has expired. See Runbooks/intermediate-renewal.md.
                """)
        @OptionGroup var state: StateOptions
        @Option(help: "Directory holding the ceremony's output bundle (intermediate-cert).") var from: String
        @Option(
            name: .customLong("root-fingerprint"),
            help: "The root from the root ceremony's paper log: its certificate SHA-256, SPKI SHA-256 (hex) or agent pin (sha256/BASE64).")
        var rootFingerprint: String

        func run() async throws {
            let installed = try ApplianceSetup.install(
                stateDirectory: StateDirectory(path: state.stateDirectory), from: from, rootFingerprint: rootFingerprint)
            print("installed intermediate \(installed.intermediate.subject), valid until \(installed.intermediate.notValidAfter)")
            print("root: \(installed.root.subject)")
            for retiring in installed.retiring {
                // Served next to the new one (cacerts, chain, CRL, OCSP) until its last certificate expires.
                print("retiring intermediate \((try? IssuerRoster.ski(retiring)) ?? "?"), valid until \(retiring.notValidAfter)")
            }
            if !installed.retiring.isEmpty { print("restart `appliance serve` to issue with the new intermediate") }
        }
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the online CA.",
        discussion: """
            Example:
              appliance serve --config /etc/rootkeeper/appliance.yaml --passphrase-file /etc/rootkeeper/intermediate.passphrase
            """)
    @OptionGroup var state: StateOptions
    @OptionGroup var secrets: SecretOptions
    @Option(help: "Configuration file (YAML); ROOTKEEPER_* environment variables override it.") var config: String?

    func run() async throws {
        try ProcessHardening.apply()
        let configuration = try loadConfiguration(config, state: state)
        let account = try ProcessHardening.checkUser(configuredUser: configuration.user)
        var logger = Logger(label: "rootkeeper.appliance")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        // The secret may be readable by root only: read it first, then drop privileges before any
        // state file is opened, so everything the service creates belongs to the service user.
        let secret = try secrets.unlockSecret(configuration)
        try ProcessHardening.checkStateOwner(configuration.stateDirectory, serving: account?.uid ?? geteuid(), user: configuration.user)
        if let account {
            guard configuration.https.port >= 1024 || configuration.https.port == 0,
                configuration.http.port >= 1024 || configuration.http.port == 0
            else {
                throw CommandFailure("ports below 1024 need CAP_NET_BIND_SERVICE (systemd AmbientCapabilities=); refusing to keep root for them")
            }
            logger.notice("dropping privileges", metadata: ["user": "\(configuration.user ?? "")", "uid": "\(account.uid)"])
            let usesToken = !configuration.pkcs11.token.isEmpty
            try ProcessHardening.reexec(as: account, secret: secret, arguments: CommandLine.arguments) { fd in
                usesToken ? ["--pin-source", "fd:\(fd)"] : ["--passphrase-fd", "\(fd)"]
            }
        }
        let runtime = try await ApplianceRuntime.build(configuration: configuration, secret: secret, logger: logger)
        // With port 0 the OS chooses: say which ports were bound, once, on stdout, so scripts and
        // tests read the port back instead of guessing a free one and racing to bind it.
        let addresses = runtime.application.addresses
        Task {
            let ports = await addresses.waitUntilListening()
            print(
                "listening: https://\(Self.host(configuration.https.address)):\(ports.https) "
                    + "http://\(Self.host(configuration.http.address)):\(ports.http)")
            if configuration.console.enabled, let console = await addresses.waitForConsole() {
                print("console: https://\(Self.host(configuration.console.listener.address)):\(console)/")
            }
            fflush(nil)
        }
        try await runtime.application.run(gracefulShutdownSignals: [.sigterm, .sigint])
    }

    /// An address as it appears in a URL (RFC 3986 §3.2.2: IPv6 literals in brackets).
    static func host(_ address: String) -> String {
        address.contains(":") ? "[\(address)]" : address
    }
}

/// Loads `--config` (or the defaults), the ROOTKEEPER_* environment and `--state-dir`, and validates.
///
/// `--state-dir` is never ignored: it applies when neither the file nor the environment names a
/// state directory, and when one of them names another directory the command is refused, so
/// `init` cannot write a key somewhere the operator did not ask for.
func loadConfiguration(_ path: String?, state: StateOptions) throws -> ApplianceConfiguration {
    var configuration = try path.map { try ApplianceConfiguration.load(file: $0) } ?? ApplianceConfiguration()
    let environment = ProcessInfo.processInfo.environment
    configuration = try configuration.applyingEnvironment(environment)
    if let flag = state.explicitStateDirectory {
        func standardized(_ path: String) -> String { (path as NSString).standardizingPath }
        let fromFile = try path.flatMap { try ApplianceConfiguration.value(of: "state_directory", inFile: $0) }
        let fromEnvironment = environment["ROOTKEEPER_STATE_DIRECTORY"]
        let named = [fromEnvironment.map { ("ROOTKEEPER_STATE_DIRECTORY", $0) }, fromFile.map { ("state_directory in \(path ?? "")", $0) }]
            .compactMap { $0 }
        if let conflict = named.first(where: { standardized($0.1) != standardized(flag) }) {
            throw CommandFailure(
                "--state-dir \(flag) conflicts with \(conflict.0) (\(conflict.1)); give the state directory in one place only "
                    + "(remove --state-dir, or change or remove \(conflict.0))")
        }
        configuration.stateDirectory = flag
    }
    try configuration.validate()
    return configuration
}

extension SecretOptions {
    /// The passphrase (file key) or PIN (token key), from the one source given; a prompt by default.
    func unlockSecret(_ configuration: ApplianceConfiguration) throws -> SecretBytes {
        if !configuration.pkcs11.token.isEmpty {
            return try SecretSource(parsing: pinSource ?? "prompt").read(prompt: "PIN for token \(configuration.pkcs11.token): ")
        }
        if let passphraseFile { return try SecretSource.file(passphraseFile).read(prompt: "") }
        if let passphraseFD { return try SecretSource.fileDescriptor(passphraseFD).read(prompt: "") }
        return try SecretSource.prompt.read(prompt: "Intermediate key passphrase: ")
    }

    func keyBackend(_ configuration: ApplianceConfiguration, confirming: Bool) throws -> IntermediateKeyBackend {
        let secret = try unlockSecret(configuration)
        if configuration.pkcs11.token.isEmpty { return .file(passphrase: secret) }
        return .pkcs11(PKCS11KeyLocation(modulePath: configuration.pkcs11.module, token: configuration.pkcs11.token), pin: secret)
    }
}

extension ApplianceConfiguration {
    func intermediateRequest() throws -> IntermediateRequest {
        guard let algorithm = KeyAlgorithm(rawValue: ca.intermediateAlgorithm) else {
            throw ApplianceError.configuration("ca.intermediate_algorithm", "must be p256, p384, rsa2048, rsa3072 or rsa4096")
        }
        return IntermediateRequest(commonName: ca.intermediateName, organization: ca.organization, algorithm: algorithm)
    }
}

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "One-command local demo (see README).")
    @Option(help: "Directory to leave everything in (media/, state/, agents/); must not exist.") var dir: String = "./demo"

    func run() async throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
        let directory = URL(fileURLWithPath: dir).standardizedFileURL.path
        let server: Process
        do {
            server = try DemoRunner(
                directory: directory, binDirectory: executable,
                log: {
                    print($0)
                    fflush(nil)
                }
            ).run()
        } catch {
            FileHandle.standardError.write(Data("demo: \(error)\n".utf8))
            throw ExitCode.failure
        }
        // Ctrl-C stops the appliance we started, then the demo.
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT)
        interrupt.setEventHandler { server.interrupt() }
        interrupt.resume()
        server.waitUntilExit()
    }
}

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check configuration, permissions, key, token, store, ports, certificates and CRLs before serving.",
        discussion: """
            Give it the options `serve` gets (the passphrase or PIN source too). Started as root with
            `user:` configured it reads the secret, then checks as that user, as serve runs. Changes nothing. Prints one line per check; each problem names its fix. Exit status 1 when
            any check found a problem (warnings alone exit 0).
            Example:
              appliance doctor --config /etc/rootkeeper/appliance.yaml --passphrase-file /etc/rootkeeper/intermediate.passphrase
            """)
    @OptionGroup var state: StateOptions
    @OptionGroup var secrets: SecretOptions
    @Option(help: "Configuration file (YAML); ROOTKEEPER_* environment variables override it.") var config: String?
    @Option(help: "Judge expiry as of this time (ISO 8601, e.g. 2027-01-01T00:00:00Z): what will have expired by then.")
    var at: String?

    func run() async throws {
        var clock: any PKIClock = SystemClock()
        if let at {
            guard let date = ISO8601DateFormatter().date(from: at) else {
                throw CommandFailure("--at \(at) is not an ISO 8601 time such as 2027-01-01T00:00:00Z")
            }
            clock = FixedClock(date)
        }
        let configuration: ApplianceConfiguration
        do {
            configuration = try loadConfiguration(config, state: state)
        } catch {
            print(
                DoctorFinding(
                    "configuration", .problem, PeopleMessage.failure(for: error)?.description ?? "\(error)",
                    fix: "correct it (every key is documented in docs/configuration.md)"
                ).line)
            throw ExitCode.failure
        }
        // serve started as root runs as the configured user; started as anyone else, as itself.
        let account: (uid: uid_t, gid: gid_t)?
        do {
            account = try ProcessHardening.checkUser(configuredUser: configuration.user)
        } catch {
            print(
                DoctorFinding(
                    "user", .problem, PeopleMessage.failure(for: error)?.description ?? "\(error)",
                    fix: "set `user:` to an unprivileged account that owns the state directory"
                ).line)
            throw ExitCode.failure
        }
        // Read as serve reads it (a prompt by default); a failure is reported as the key check's problem.
        let secret = Result { try secrets.unlockSecret(configuration) }
        if let account, case .success(let unlocked) = secret {
            // As serve does: the secret read as root, everything else checked as the service user,
            // so a file only root could read is found here and not at the next start.
            let usesToken = !configuration.pkcs11.token.isEmpty
            try ProcessHardening.reexec(as: account, secret: unlocked, arguments: CommandLine.arguments) { fd in
                usesToken ? ["--pin-source", "fd:\(fd)"] : ["--passphrase-fd", "\(fd)"]
            }
        }
        let servingUID = account?.uid ?? geteuid()
        let findings = ApplianceDoctor(configuration: configuration, servingUID: servingUID, secret: { try secret.get() }, clock: clock).run()
        for finding in findings { print(finding.line) }
        let problems = findings.filter { $0.status == .problem }.count
        print(problems == 0 ? "doctor: no problems found" : "doctor: \(problems) problem\(problems == 1 ? "" : "s") found")
        if problems > 0 { throw ExitCode.failure }
    }
}
