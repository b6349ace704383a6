import AgentKit
import ArgumentParser
import BuildInfo
import Foundation
import PKICore
import SecureFiles

/// `agent` — enrol, renew and check status against the appliance with SPKI pinning (docs/commands.md#agent).
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Rootkeeper agent: enrol, renew and check status with a pinned appliance.",
        version: RootkeeperBuild.versionText(tool: "agent"),
        subcommands: [Enroll.self, Renew.self, Status.self])

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a key + CSR and enrol over EST (waits while pending; a rerun with the same --out resumes).",
            discussion: """
                The one-time token never goes on the command line (where `ps` shows it to every user):
                  --token-file PATH   a file only you can read (chmod 600)
                  --token-fd N        an open file descriptor: --token-fd 3 3<FILE
                  --token-prompt      typed at the terminal, not echoed
                Without a token the enrolment waits for an administrator's approval.
                """)
        @Option(
            help: ArgumentHelp(
                "Appliance URL, https://HOST:PORT (IPv6: https://[ADDRESS]:PORT). Repeat it for the other nodes of a cluster: enrolment uses the first; renew and status try them in order, passing to the next when one cannot be reached (docs/agent-files.md).",
                valueName: "url")) var server: [String]
        @Option(
            help:
                "A certificate of the appliance chain (usually the root): agent pin sha256/BASE64, or its certificate or SPKI SHA-256 in hex (docs/identity.md)."
        ) var pin: String
        @Option(help: "This machine's hostname (goes into CN and SAN).") var hostname: String
        @Option(help: "File holding the one-time enrolment token (mode 0600).") var tokenFile: String?
        @Option(help: "File descriptor to read the one-time enrolment token from.") var tokenFd: Int32?
        @Flag(help: "Ask for the one-time enrolment token on the terminal.") var tokenPrompt = false
        /// Refused: kept only to explain where the token goes instead.
        @Option(help: .hidden) var token: String?
        @Option(help: "Output directory (created 0700).") var out: String
        @Option(help: "Longest time to wait for approval, in seconds.") var maxWait: Int = 600

        func validate() throws {
            if token != nil {
                // Never echo the value: it is a secret that is already exposed in argv.
                throw ValidationError(
                    """
                    --token puts the enrolment token in the process arguments, where every user sees it (ps, /proc/PID/cmdline); \
                    pass it with --token-file PATH (mode 0600), --token-fd N or --token-prompt, and ask for a new token: this one may have been seen
                    """)
            }
            guard !server.isEmpty else { throw ValidationError("give the appliance URL with --server https://HOST:PORT") }
            let sources = [tokenFile != nil, tokenFd != nil, tokenPrompt].filter { $0 }.count
            guard sources <= 1 else { throw ValidationError("give at most one of --token-file, --token-fd and --token-prompt") }
        }

        func run() async throws {
            let urls = try server.map(AgentEnrollment.serverURL)
            let secret = try readToken()
            var enrollment = AgentEnrollment(files: AgentFiles(directory: out))
            enrollment.maximumPendingWait = .seconds(maxWait)
            let certificate = try await enrollment.enroll(
                server: urls[0], otherServers: Array(urls.dropFirst()), pin: try SPKIPin(pin), hostname: hostname, token: secret
            ) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            print("enrolled: serial \(certificate.serialNumber.hex), valid until \(certificate.notValidAfter)")
        }

        /// The token from the one source given, or nil (enrol and wait for approval).
        func readToken() throws -> String? {
            let source: SecretSource
            if let tokenFile {
                source = .file(tokenFile)
            } else if let tokenFd {
                source = .fileDescriptor(tokenFd)
            } else if tokenPrompt {
                source = .prompt
            } else {
                return nil
            }
            let secret = try source.read(prompt: "One-time enrolment token: ")
            let text = secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty, text.allSatisfy({ $0.isASCII && !$0.isWhitespace && !$0.isNewline }) else {
                throw ValidationError(
                    "the enrolment token from \(source) is not one word of printable ASCII (as printed by `appliance agents token`)")
            }
            return text
        }
    }

    struct Renew: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Renew when the appliance's renewal window is open; --daemon keeps checking.",
            discussion: """
                The appliance decides the window (ca.renew_before_days before expiry):
                renew asks it (the `renewNow` that `agent status` prints) and renews only then.

                After a successful renewal, never after a failed one, it runs the hooks given:
                  --exec CMD          /bin/sh -c CMD, with AGENT_CERTIFICATE, AGENT_KEY,
                                      AGENT_CA_CHAIN, AGENT_DIRECTORY, AGENT_SERIAL,
                                      AGENT_NOT_AFTER and AGENT_HOSTNAME in its environment
                  --reload-unit UNIT  systemctl reload-or-restart -- UNIT
                A failed hook is reported and the new certificate stays installed; the
                daemon runs the hook again.

                Example:
                  agent renew --daemon --out /var/lib/rootkeeper-agent \\
                    --reload-unit nginx.service
                """)
        @Option(help: "Agent directory written by enroll.") var out: String
        @Flag(help: "Keep running: ask the appliance every --check-interval seconds and renew when due, with jitter and backoff.")
        var daemon = false
        @Flag(help: "Renew now even if the window is not open yet.") var force = false
        @Option(help: ArgumentHelp("Command run (by /bin/sh -c) after each successful renewal; repeatable.", valueName: "command"))
        var exec: [String] = []
        @Option(
            name: .customLong("reload-unit"),
            help: ArgumentHelp("systemd unit reloaded (or restarted) after each successful renewal; repeatable.", valueName: "unit"))
        var reloadUnits: [String] = []
        @Option(name: .customLong("check-interval"), help: "With --daemon: seconds between checks (default 3600).")
        var checkInterval: Int = 3600

        func validate() throws {
            guard checkInterval >= 1 else { throw ValidationError("--check-interval must be at least 1 second, got \(checkInterval)") }
            if force, daemon {
                throw ValidationError("--force renews once; it cannot be combined with --daemon (the daemon renews when the appliance says so)")
            }
            do { _ = try hook() } catch let error as AgentError { throw ValidationError(error.reason) }
        }

        func hook() throws -> RenewalHook {
            try RenewalHook(actions: exec.map { .command($0) } + reloadUnits.map { .reloadUnit($0) })
        }

        func run() async throws {
            let enrollment = AgentEnrollment(files: AgentFiles(directory: out))
            let hook = try hook()
            if daemon {
                try await enrollment.renewLoop(interval: .seconds(checkInterval), hook: hook) { line in
                    print(line)
                    fflush(nil)
                }
                return
            }
            switch try await enrollment.renew(force: force) {
            case .renewed(let certificate):
                print("renewed: serial \(certificate.serialNumber.hex), valid until \(certificate.notValidAfter)")
                guard !hook.isEmpty else { return }
                fflush(nil)
                do {
                    try await hook.run(environment: try enrollment.hookEnvironment(for: certificate))
                } catch let error as AgentError {
                    throw AgentError(error.code, "\(error.reason); the renewed certificate stays installed in \(out): run the hook yourself")
                }
            case .notDue(let check):
                print(check.explanation)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the appliance's view of this agent's certificate.")
        @Option(help: "Agent directory written by enroll.") var out: String
        func run() async throws {
            print(try await AgentEnrollment(files: AgentFiles(directory: out)).status())
        }
    }
}
