import ApplianceKit
import ArgumentParser
import Foundation

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create the state directory, the intermediate key and a CSR bundle for the ceremony.")
    @OptionGroup var state: StateOptions
    @OptionGroup var secrets: SecretOptions
    @Option(help: "Configuration file (YAML).") var config: String?

    func run() async throws {
        if let config { _ = try ApplianceConfiguration.load(file: config) }
        let directory = StateDirectory(path: state.stateDirectory)
        try directory.create()
        try directory.checkPermissions()
        print("state directory ready: \(directory.root.path)")
        try notWired("PKICore intermediate key generation (HSM or encrypted file) + CSR media bundle")
    }
}

struct IntermediateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intermediate", abstract: "Intermediate CA renewal: new key + CSR, install ceremony output.",
        subcommands: [CSR.self, Install.self])

    struct CSR: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Generate a new intermediate key and CSR bundle.")
        @OptionGroup var state: StateOptions
        @OptionGroup var secrets: SecretOptions
        @Option(help: "Directory to write the CSR bundle to.") var out: String
        func run() async throws { try notWired("PKICore intermediate key generation + CSR media bundle") }
    }

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Install ceremony output, verifying the chain to the pinned root.")
        @OptionGroup var state: StateOptions
        @Option(help: "Directory holding the ceremony's output bundle.") var from: String
        func run() async throws { try notWired("PKICore media bundle verification + chain install into the state directory") }
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the online CA.")
    @OptionGroup var state: StateOptions
    @OptionGroup var secrets: SecretOptions
    @Option(help: "Configuration file (YAML); ROOTKEEPER_* environment variables override it.") var config: String?

    func run() async throws {
        var configuration = try config.map { try ApplianceConfiguration.load(file: $0) } ?? ApplianceConfiguration()
        // Without a file, --state-dir sets the directory; with one, the file's state_directory wins.
        if config == nil { configuration.stateDirectory = state.stateDirectory }
        configuration = try configuration.applyingEnvironment(ProcessInfo.processInfo.environment)
        try configuration.validate()
        let directory = StateDirectory(path: configuration.stateDirectory)
        try directory.checkPermissions()
        try notWired("CAStore + Registration + PKICore issuer → ApplianceServices, then buildApplication(configuration:services:).run()")
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Back up, verify or restore the state.", subcommands: [Create.self, Verify.self, Restore.self])
    struct Create: AsyncParsableCommand {
        @OptionGroup var state: StateOptions
        @Option(help: "Backup file to write.") var out: String
        func run() async throws { try notWired("CAStore backup") }
    }
    struct Verify: AsyncParsableCommand {
        @OptionGroup var state: StateOptions
        @Argument(help: "Backup file.") var file: String
        func run() async throws { try notWired("CAStore backup verification") }
    }
    struct Restore: AsyncParsableCommand {
        @OptionGroup var state: StateOptions
        @Argument(help: "Backup file.") var file: String
        func run() async throws { try notWired("CAStore restore") }
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
            server = try DemoRunner(directory: directory, binDirectory: executable).run()
        } catch {
            throw CommandFailure("demo: \(error)")
        }
        // Ctrl-C stops the appliance we started, then the demo.
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT)
        interrupt.setEventHandler { server.interrupt() }
        interrupt.resume()
        server.waitUntilExit()
    }
}
