import Foundation
import SecureFiles
import TestSupport
import Testing

/// Issue 18: an agent systemd unit ships and starts. The daemon is started exactly as
/// Runbooks/systemd/rootkeeper-agent.service starts it — its ExecStart (plus the `--exec` hook a
/// `systemctl edit` drop-in adds, as the unit's comment shows), as its User= — against the real
/// `appliance serve`, and renews in the appliance's window, then runs the hook.
@Suite("The agent's systemd unit starts, renews and runs its hook", .serialized)
struct AgentSystemdUnitTests {
    static let unit = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Runbooks/systemd/rootkeeper-agent.service")
    /// The unit's `rootkeeper-agent` does not exist on a test machine: `nobody` stands in for it.
    static let serviceUser = "nobody"

    /// The unit's User= and ExecStart= words.
    static func directives() throws -> (user: String, execStart: [String]) {
        let text = try String(contentsOf: unit, encoding: .utf8)
        var user: String?
        var execStart: [String]?
        for line in text.split(separator: "\n").map(String.init) where !line.hasPrefix("#") {
            if line.hasPrefix("User=") { user = String(line.dropFirst(5)) }
            if line.hasPrefix("ExecStart=") { execStart = line.dropFirst(10).split(separator: " ").map(String.init) }
        }
        return (try #require(user, "no User="), try #require(execStart, "no ExecStart="))
    }

    @Test(
        "agent renew --daemon, started as the unit starts it (as its user, its paths), renews when the appliance says and runs the hook with the new pair"
    )
    func daemonStartsAsTheUnitSays() async throws {
        let unit = try Self.directives()
        #expect(unit.user == "rootkeeper-agent")
        #expect(Array(unit.execStart.prefix(4)) == ["/usr/local/bin/agent", "renew", "--daemon", "--out"])
        try await ApplianceProcess.with(
            extraConfiguration: """
                ca:
                  agent_validity_days: 2
                  renew_before_days: 2
                """
        ) { app in
            let out = try await AgentRenewalWindowTests.enrolledAgent(app, hostname: "unit-01")
            let hookDirectory = app.directory.file("hook")
            try FileManager.default.createDirectory(atPath: hookDirectory, withIntermediateDirectories: false)
            for owned in [out, hookDirectory] {
                let chown = try ExternalTool("chown").run(["-R", "\(Self.serviceUser):", owned])
                try #require(chown.succeeded, "\(chown.output)")
            }
            let before = try opensslSerial("\(out)/agent.crt")
            let paths = ["/usr/local/bin/agent": ProductBinary.path("agent"), "/var/lib/rootkeeper-agent": out]
            let command = unit.execStart.map { paths[$0] ?? $0 }
            for argument in command {
                #expect(!argument.contains("/var/lib/rootkeeper-agent") && !argument.contains("/usr/local"), "not mapped: \(argument)")
            }
            let hook = "printf '%s\\n' \"$AGENT_SERIAL\" > '\(hookDirectory)/serial'; id -un > '\(hookDirectory)/user'"
            let entry = try #require(SystemAccount.named(Self.serviceUser))
            // setpriv as systemd's User=: the user's uid, primary gid and groups, nothing of root's.
            let daemon = try ExternalTool("setpriv").start(
                ["--reuid", Self.serviceUser, "--regid", String(entry.gid), "--init-groups", "--"] + command + ["--exec", hook])
            defer { daemon.stop(signal: SIGTERM) }
            let serialFile = "\(hookDirectory)/serial"
            for _ in 0..<600 where !FileManager.default.fileExists(atPath: serialFile) && daemon.isRunning { usleep(100_000) }
            #expect(daemon.waitForOutput("renewal hook succeeded", timeout: 30), "daemon output:\n\(daemon.output)")
            #expect(daemon.isRunning, "the daemon keeps running after a renewal:\n\(daemon.output)")
            let after = try opensslSerial("\(out)/agent.crt")
            #expect(after != before, "daemon output:\n\(daemon.output)")
            let hookSerial = try String(contentsOfFile: serialFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(RenewalRetryTests.same(hookSerial, after))
            #expect(try String(contentsOfFile: "\(hookDirectory)/user", encoding: .utf8) == "\(Self.serviceUser)\n")
            let psUser = try ExternalTool("ps").run(["-o", "user=", "-p", String(daemon.pid)]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(psUser == Self.serviceUser)
            // The new pair belongs to the service user, the key private to it.
            let stat = try ExternalTool("stat").run(["-L", "-c", "%a %U", "\(out)/agent.key"]).stdout
            #expect(stat == "600 \(Self.serviceUser)\n")
            #expect(try opensslPairMatches(key: "\(out)/agent.key", certificate: "\(out)/agent.crt"))
        }
    }

    @Test("systemd-analyze security --offline rates the agent unit's exposure at 2.0 or lower")
    func exposure() throws {
        let (value, line) = try SystemdExposure.level(ofUnit: Self.unit.path)
        #expect(value <= 2.0, "exposure \(value): \(line)")
        #expect(!(try String(contentsOf: Self.unit, encoding: .utf8)).contains("--token "), "no secret on the command line")
    }
}
