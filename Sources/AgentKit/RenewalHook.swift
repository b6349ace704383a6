import Foundation
import X509

/// What `agent renew --exec CMD` / `--reload-unit UNIT` run after a successful renewal, so the
/// services using the certificate pick it up (docs/commands.md#agent). Never after a failed one.
///
/// Nothing about the certificate is interpolated into a command line: `CMD` is the
/// administrator's own text, run by `/bin/sh -c`, and the renewed pair is described to it in
/// environment variables (``environment(files:certificate:hostname:)``); a unit name is checked
/// against systemd's unit-name characters and passed to `systemctl` as one argument after `--`.
public struct RenewalHook: Sendable, Equatable {
    public enum Action: Sendable, Equatable, CustomStringConvertible {
        /// `/bin/sh -c COMMAND`.
        case command(String)
        /// `systemctl reload-or-restart -- UNIT`.
        case reloadUnit(String)

        public var description: String {
            switch self {
            case .command(let command): "--exec \(command)"
            case .reloadUnit(let unit): "--reload-unit \(unit)"
            }
        }
    }

    public var actions: [Action]
    /// A hook still running after this is killed and reported as failed.
    public var timeout: Duration

    public init(actions: [Action], timeout: Duration = .seconds(300)) throws {
        for case .reloadUnit(let unit) in actions {
            // systemd.unit(5): ASCII letters, digits, ":", "-", "_", ".", "\", "@"; never an option.
            let allowed = unit.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ":-_.@\\".contains($0)) }
            guard !unit.isEmpty, allowed, !unit.hasPrefix("-"), unit.count <= 255 else {
                throw AgentError(
                    .invalidInput, "--reload-unit \(unit) is not a systemd unit name (letters, digits and :-_.@ only, such as nginx.service)")
            }
        }
        self.actions = actions
        self.timeout = timeout
    }

    public var isEmpty: Bool { actions.isEmpty }

    /// The variables a hook receives: the stable paths (through the `current` link, so they stay
    /// right after the next renewal too) and the new certificate's serial, expiry and hostname.
    public static func environment(files: AgentFiles, certificate: Certificate, hostname: String) -> [String: String] {
        [
            "AGENT_DIRECTORY": files.directory.path,
            "AGENT_CERTIFICATE": files.certificate,
            "AGENT_KEY": files.key,
            "AGENT_CA_CHAIN": files.chain,
            "AGENT_SERIAL": certificate.serialNumber.hex,
            "AGENT_NOT_AFTER": ISO8601DateFormatter().string(from: certificate.notValidAfter),
            "AGENT_HOSTNAME": hostname,
        ]
    }

    /// Runs every action in order, stopping at the first failure, which is thrown as
    /// `AgentError(.hookFailed)` naming the action and its exit status.
    public func run(environment extra: [String: String]) async throws {
        for action in actions {
            let process = Process()
            switch action {
            case .command(let command):
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
                process.arguments = ["-c", command]
            case .reloadUnit(let unit):
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = ["systemctl", "reload-or-restart", "--", unit]
            }
            process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
            process.standardInput = FileHandle.nullDevice
            do {
                try process.run()
            } catch {
                throw AgentError(.hookFailed, "the renewal hook \(action) could not be started (\(error.localizedDescription))")
            }
            let deadline = ContinuousClock.now + timeout
            while process.isRunning, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
                throw AgentError(.hookFailed, "the renewal hook \(action) was still running after \(timeout.components.seconds) s and was stopped")
            }
            process.waitUntilExit()
            guard process.terminationReason == .exit, process.terminationStatus == 0 else {
                let how =
                    process.terminationReason == .exit
                    ? "exited with status \(process.terminationStatus)" : "was killed by signal \(process.terminationStatus)"
                throw AgentError(.hookFailed, "the renewal hook \(action) \(how)")
            }
        }
    }
}
