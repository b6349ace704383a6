import Foundation
import TestSupport
import Testing

/// Issue 7: the shipped systemd unit uses the sandboxing systemd offers, rated by systemd itself.
@Suite("The appliance's systemd unit is sandboxed")
struct SystemdUnitTests {
    static let unit = RunbookExecutionTests.runbooksDirectory.appendingPathComponent("systemd/rootkeeper-appliance.service")

    @Test("systemd-analyze security --offline rates the unit's exposure at 2.0 or lower")
    func exposure() throws {
        // systemd-analyze names the result after the file, so analyse a copy with the unit's name.
        let work = try TemporaryDirectory("systemd")
        defer { work.remove() }
        let copy = work.file("rootkeeper-appliance.service")
        try FileManager.default.copyItem(atPath: Self.unit.path, toPath: copy)
        let result = try ExternalTool("systemd-analyze").run(["security", "--offline=true", copy])
        let line = result.output.split(separator: "\n").first { $0.contains("Overall exposure level") }
        let score = line.flatMap { $0.split(separator: ":").last?.split(separator: " ").first }.flatMap { Double($0) }
        let value = try #require(score, "no exposure level in: \(result.output)")
        #expect(value <= 2.0, "exposure \(value): \(line ?? "")")
        #expect(line?.contains("OK") == true)
    }

    @Test("the unit runs as an unprivileged user with no capabilities, no core dumps and a 077 umask")
    func essentials() throws {
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
        for directive in [
            "User=rootkeeper", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n", "ProtectSystem=strict",
            "ReadWritePaths=/var/lib/rootkeeper", "LimitCORE=0", "UMask=0077", "MemoryDenyWriteExecute=yes",
        ] {
            #expect(text.contains(directive), "missing \(directive)")
        }
        #expect(!text.contains("--passphrase "), "a passphrase must never be on the command line")
    }
}
