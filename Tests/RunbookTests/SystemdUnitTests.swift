import Foundation
import TestSupport
import Testing

/// Issue 7: the shipped systemd unit uses the sandboxing systemd offers, rated by systemd itself.
@Suite("The appliance's systemd unit is sandboxed")
struct SystemdUnitTests {
    static let unit = RunbookExecutionTests.runbooksDirectory.appendingPathComponent("systemd/rootkeeper-appliance.service")

    @Test("systemd-analyze security --offline rates the unit's exposure at 2.0 or lower")
    func exposure() throws {
        let (value, line) = try SystemdExposure.level(ofUnit: Self.unit.path)
        #expect(value <= 2.0, "exposure \(value): \(line)")
        #expect(line.contains("OK"))
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
