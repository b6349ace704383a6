import Foundation
import SecureFiles
import TestSupport
import Testing

/// Issue 18: the shipped unit starts. `serve` is started exactly as
/// Runbooks/systemd/rootkeeper-appliance.service starts it: its ExecStart, as its User=, with the
/// passphrase handed over by LoadCredential= in a credentials directory made the way systemd makes
/// one (root-owned, the file 0400 root with an ACL for the service user, systemd.exec(5)).
@Suite("The systemd unit's serve command starts and serves", .serialized)
struct SystemdServeTests {
    /// The unit's settings the test reproduces.
    struct Unit {
        var user: String
        var execStart: [String]
        /// LoadCredential=ID:PATH
        var credentials: [(id: String, path: String)]

        init(text: String) throws {
            var user: String?
            var execStart: [String]?
            var credentials: [(id: String, path: String)] = []
            for line in text.split(separator: "\n").map(String.init) where !line.hasPrefix("#") {
                if line.hasPrefix("User=") { user = String(line.dropFirst(5)) }
                if line.hasPrefix("ExecStart=") { execStart = line.dropFirst(10).split(separator: " ").map(String.init) }
                if line.hasPrefix("LoadCredential=") {
                    let parts = line.dropFirst(15).split(separator: ":", maxSplits: 1).map(String.init)
                    credentials.append((id: parts[0], path: parts.count > 1 ? parts[1] : ""))
                }
            }
            self.user = try #require(user, "the unit has no User=")
            self.execStart = try #require(execStart, "the unit has no ExecStart=")
            self.credentials = credentials
        }
    }

    /// The service account of the rehearsal: the unit's `rootkeeper` does not exist on a test
    /// machine, `nobody` stands in for it (as in the runbook rehearsals).
    static let serviceUser = "nobody"

    /// Makes `$CREDENTIALS_DIRECTORY` as systemd does: a root-owned directory, each credential a
    /// root-owned 0400 copy with a read ACL for the service user. Returns the directory.
    static func credentialsDirectory(in work: TemporaryDirectory, unit: Unit, sources: [String: String], readers: [String]) throws -> String {
        let directory = work.file("credentials")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let setfacl = try ExternalTool("setfacl")
        for credential in unit.credentials {
            let source = try #require(sources[credential.path], "no rehearsal file stands for \(credential.path)")
            let target = directory + "/" + credential.id
            try FileManager.default.copyItem(atPath: source, toPath: target)
            chown(target, 0, 0)
            chmod(target, 0o400)
            for reader in readers {
                let acl = try setfacl.run(["-m", "u:\(reader):r", target])
                try #require(acl.succeeded, "setfacl: \(acl.output)")
            }
        }
        chown(directory, 0, 0)
        chmod(directory, 0o500)
        let acl = try setfacl.run(["-m", "u:\(serviceUser):rx", directory])
        try #require(acl.succeeded, "setfacl: \(acl.output)")
        return directory
    }

    /// The unit's ExecStart with the production paths replaced by the rehearsal's and
    /// ${CREDENTIALS_DIRECTORY} expanded as systemd expands it.
    static func command(_ unit: Unit, appliance: RehearsalAppliance, credentials: String) throws -> [String] {
        let paths = [
            "/usr/local/bin/appliance": appliance.binDirectory + "/appliance",
            "/var/lib/rootkeeper": appliance.state,
            "/etc/rootkeeper/appliance.yaml": appliance.config,
        ]
        let command = unit.execStart.map { argument in
            paths[argument] ?? argument.replacingOccurrences(of: "${CREDENTIALS_DIRECTORY}", with: credentials)
        }
        for argument in command {
            #expect(
                !argument.contains("/etc/rootkeeper") && !argument.contains("/var/lib/rootkeeper") && !argument.contains("$"),
                "unit argument not mapped for the rehearsal: \(argument)")
        }
        return command
    }

    static func start(_ command: [String], environment: [String: String]) throws -> ExternalTool.Running {
        // setpriv as systemd's User=: the service user's uid, primary gid and groups, nothing of root's.
        try ExternalTool("setpriv").start(
            ["--reuid", serviceUser, "--regid", try primaryGroup(of: serviceUser), "--init-groups", "--"] + command, environment: environment)
    }

    static func primaryGroup(of user: String) throws -> String {
        let entry = try #require(SystemAccount.named(user), "no user \(user)")
        return String(entry.gid)
    }

    @Test("serve, started as the unit starts it, reads its passphrase from the systemd credential and answers /health")
    func serveStartsAsTheUnitSays() throws {
        let unit = try Unit(text: String(contentsOf: SystemdUnitTests.unit, encoding: .utf8))
        #expect(unit.user == "rootkeeper")
        #expect(unit.credentials.map(\.id) == ["intermediate.passphrase"])
        let appliance = try RehearsalAppliance()
        defer { appliance.remove() }
        // The passphrase file stays root's 0600, as the install runbook leaves it.
        #expect(try ExternalTool("stat").run(["-c", "%a %U", appliance.passphraseFile]).stdout == "600 root\n")
        _ = try ExternalTool("chown").run(["-R", Self.serviceUser, appliance.state])
        let credentials = try Self.credentialsDirectory(
            in: appliance.work, unit: unit, sources: ["/etc/rootkeeper/intermediate.passphrase": appliance.passphraseFile],
            readers: [Self.serviceUser])
        let command = try Self.command(unit, appliance: appliance, credentials: credentials)

        let serve = try Self.start(command, environment: ["CREDENTIALS_DIRECTORY": credentials])
        defer { serve.stop() }
        // The configuration lets the OS choose the ports; serve reports them.
        let ports = try #require(serve.listeningPorts(), "serve did not report its ports:\n\(serve.output)")
        let health = try Self.waitForHealth(port: ports.http, while: serve)
        #expect(health == "ok\n", "serve output:\n\(serve.output)")
        let user = try ExternalTool("ps").run(["-o", "user=", "-p", String(serve.pid)]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(user == Self.serviceUser)
    }

    @Test("the old unit (User= reading root's 0600 passphrase file directly) does not start")
    func rootOnlyPassphraseFileIsUnreadable() throws {
        let appliance = try RehearsalAppliance()
        defer { appliance.remove() }
        _ = try ExternalTool("chown").run(["-R", Self.serviceUser, appliance.state])
        let serve = try Self.start(
            [
                appliance.binDirectory + "/appliance", "serve", "--state-dir", appliance.state, "--config", appliance.config,
                "--passphrase-file", appliance.passphraseFile,
            ], environment: [:])
        defer { serve.stop() }
        #expect(serve.waitForOutput("intermediate.passphrase", timeout: 30), "output:\n\(serve.output)")
        #expect(serve.output.contains("is not owned by the current user") || serve.output.contains("Permission denied"), "output:\n\(serve.output)")
        for _ in 0..<100 where serve.isRunning { usleep(100_000) }
        #expect(!serve.isRunning)
    }

    @Test("a credential another user can read too is refused, naming the file")
    func sharedCredentialIsRefused() throws {
        let unit = try Unit(text: String(contentsOf: SystemdUnitTests.unit, encoding: .utf8))
        let appliance = try RehearsalAppliance()
        defer { appliance.remove() }
        _ = try ExternalTool("chown").run(["-R", Self.serviceUser, appliance.state])
        // `daemon` could read the passphrase as well: not what LoadCredential= makes, so refused.
        let credentials = try Self.credentialsDirectory(
            in: appliance.work, unit: unit, sources: ["/etc/rootkeeper/intermediate.passphrase": appliance.passphraseFile],
            readers: [Self.serviceUser, "daemon"])
        let serve = try Self.start(
            try Self.command(unit, appliance: appliance, credentials: credentials), environment: ["CREDENTIALS_DIRECTORY": credentials])
        defer { serve.stop() }
        #expect(serve.waitForOutput("is readable by another user or group", timeout: 30), "output:\n\(serve.output)")
        #expect(serve.output.contains("intermediate.passphrase"))
        // The refusal is printed just before the process exits: wait (bounded) for the exit.
        for _ in 0..<100 where serve.isRunning { usleep(100_000) }
        #expect(!serve.isRunning)
    }

    /// GET /health over plain HTTP with curl, polling while serve starts (bounded).
    static func waitForHealth(port: Int, while serve: ExternalTool.Running) throws -> String {
        let curl = try ExternalTool("curl")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let result = try curl.run(["-sS", "--max-time", "2", "http://127.0.0.1:\(port)/health"])
            if result.succeeded { return result.stdout }
            if !serve.isRunning { break }
            usleep(200_000)
        }
        return ""
    }
}
