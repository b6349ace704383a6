import Foundation
import TestSupport
import Testing

/// Issue 18: `--state-dir` was silently ignored whenever `--config` was given, so
/// `appliance init --state-dir X --config c.yaml` wrote a key into /var/lib/rootkeeper. Now the
/// flag applies when the configuration names no state directory, and a configuration naming
/// another one is refused before anything is written.
@Suite("--state-dir is never ignored")
struct StateDirectoryFlagTests {
    func setUp() throws -> (work: TemporaryDirectory, passphrase: String) {
        let work = try TemporaryDirectory("state-dir-flag")
        let passphrase = work.file("passphrase")
        FileManager.default.createFile(atPath: passphrase, contents: Data("correct horse battery\n".utf8), attributes: [.posixPermissions: 0o600])
        try FileManager.default.createDirectory(atPath: work.file("media"), withIntermediateDirectories: false)
        return (work, passphrase)
    }

    @Test("with a configuration that names no state directory, init writes into --state-dir")
    func flagApplies() throws {
        let (work, passphrase) = try setUp()
        defer { work.remove() }
        let config = work.file("appliance.yaml")
        try "ca:\n  organization: Example Corp\n".write(toFile: config, atomically: true, encoding: .utf8)
        let state = work.file("state")
        let result = try ProductBinary.tool("appliance").run(
            ["init", "--state-dir", state, "--config", config, "--media", work.file("media"), "--passphrase-file", passphrase])
        #expect(result.succeeded, "\(result.output)")
        #expect(FileManager.default.fileExists(atPath: state + "/ca/private/intermediate-ca.key"))
    }

    @Test("a configuration file naming another state directory is refused, naming both, and nothing is written")
    func fileConflictIsRefused() throws {
        let (work, passphrase) = try setUp()
        defer { work.remove() }
        let config = work.file("appliance.yaml")
        let other = work.file("other-state")
        try "state_directory: \(other)\n".write(toFile: config, atomically: true, encoding: .utf8)
        let state = work.file("state")
        let result = try ProductBinary.tool("appliance").run(
            ["init", "--state-dir", state, "--config", config, "--media", work.file("media"), "--passphrase-file", passphrase])
        #expect(result.status == 1)
        #expect(result.stderr.contains("--state-dir \(state) conflicts with state_directory in \(config) (\(other))"), "\(result.output)")
        #expect(result.stderr.contains("give the state directory in one place only"))
        #expect(!FileManager.default.fileExists(atPath: state))
        #expect(!FileManager.default.fileExists(atPath: other))
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.file("media")).isEmpty)
    }

    @Test("ROOTKEEPER_STATE_DIRECTORY naming another directory conflicts with --state-dir too; the same directory is fine")
    func environmentConflictIsRefused() throws {
        let (work, passphrase) = try setUp()
        defer { work.remove() }
        let config = work.file("appliance.yaml")
        let state = work.file("state")
        try "state_directory: \(state)/\n".write(toFile: config, atomically: true, encoding: .utf8)
        let appliance = try ProductBinary.tool("appliance")
        let refused = try appliance.run(
            ["init", "--state-dir", state, "--config", config, "--media", work.file("media"), "--passphrase-file", passphrase],
            environment: ["ROOTKEEPER_STATE_DIRECTORY": work.file("elsewhere")])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("conflicts with ROOTKEEPER_STATE_DIRECTORY"), "\(refused.output)")
        #expect(!FileManager.default.fileExists(atPath: state))
        // The file names the same directory (with a trailing slash): no conflict.
        let agreed = try appliance.run(
            ["init", "--state-dir", state, "--config", config, "--media", work.file("media"), "--passphrase-file", passphrase])
        #expect(agreed.succeeded, "\(agreed.output)")
        #expect(FileManager.default.fileExists(atPath: state + "/ca/private/intermediate-ca.key"))
    }
}
