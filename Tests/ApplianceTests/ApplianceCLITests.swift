import ApplianceKit
import Foundation
import TestSupport
import Testing

@Suite("The appliance executable")
struct ApplianceCLITests {
    @Test("agents list and agents token talk to the running appliance through admin.sock with script-friendly output")
    func adminCommands() async throws {
        try await RunningAppliance.with { app in
            try await waitForFile(app.state.adminSocket)
            let agent = try await app.agentFiles(hostname: "web77")
            let binary = ProductBinary.path("appliance")
            let list = try await ExternalTool(binary).runAsync(["agents", "list", "--state-dir", app.state.root.path])
            #expect(list.succeeded, "\(list.output)")
            let id = AgentSubject(certificate: agent.certificate)?.uuid ?? "?"
            #expect(list.stdout.split(separator: "\n").first?.hasPrefix(id) == true)
            let token = try await ExternalTool(binary).runAsync(["agents", "token", "--state-dir", app.state.root.path, "--hostname", "web78"])
            #expect(token.succeeded)
            let last = token.stdout.split(whereSeparator: { $0.isWhitespace }).last.map(String.init) ?? ""
            #expect(app.ca.state.withLockedValue { $0.tokens.contains(last) })
        }
    }

    @Test("serve refuses root without a service user, a backup needs a state, admin commands need a server")
    func refusals() async throws {
        let directory = try TemporaryDirectory("cli")
        defer { directory.remove() }
        let binary = ProductBinary.path("appliance")
        let serve = try await ExternalTool(binary).runAsync(["serve", "--state-dir", directory.file("state")])
        #expect(!serve.succeeded)
        #expect(serve.stderr.contains("refusing to serve as root"), "\(serve.output)")
        // Not a silent skip: off root these checks cannot run, and that is a failure to see.
        #expect(geteuid() == 0, "serve's refusals as root need the tests to run as root (scripts/test.sh does in CI)")
        if geteuid() == 0 {
            #expect(serve.stderr.contains("refusing to serve as root"), "\(serve.output)")
            // With a service user, a state directory that user does not own is refused before
            // anything is read from it or written to it.
            let state = directory.file("root-owned-state")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
            let config = directory.file("appliance.yaml")
            try "state_directory: \(state)\nuser: nobody\n".write(toFile: config, atomically: true, encoding: .utf8)
            let key = directory.file("key.passphrase")
            FileManager.default.createFile(atPath: key, contents: Data("a passphrase\n".utf8), attributes: [.posixPermissions: 0o600])
            let notOwned = try await ExternalTool(binary).runAsync(["serve", "--config", config, "--passphrase-file", key])
            #expect(!notOwned.succeeded)
            #expect(
                notOwned.stderr.contains("belongs to uid 0") && notOwned.stderr.contains("chown -R nobody: \(state)"),
                "\(notOwned.output)")
        }
        // A backup of a state directory that does not exist fails and leaves no file.
        let passphrase = directory.file("backup.passphrase")
        FileManager.default.createFile(atPath: passphrase, contents: Data("a long enough passphrase\n".utf8), attributes: [.posixPermissions: 0o600])
        let backup = try await ExternalTool(binary).runAsync([
            "backup", "create", "--state-dir", directory.file("state"), "--out", directory.file("b"),
            "--passphrase-file", passphrase,
        ])
        #expect(!backup.succeeded)
        #expect(backup.stderr.contains("no database at"), "\(backup.output)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("b")))
        let list = try await ExternalTool(binary).runAsync(["agents", "list", "--state-dir", directory.path])
        #expect(!list.succeeded)
        #expect(list.stderr.contains("cannot reach the running appliance"))
    }
}
