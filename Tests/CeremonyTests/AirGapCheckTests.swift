import Foundation
import Testing
import TestSupport
@testable import CeremonyKit

struct FakeProbe: SystemProbe {
    var up: [NetworkInterface] = [NetworkInterface(name: "lo", isUp: true, isLoopback: true)]
    var routes: [String] = []
    var wireless: [String] = []
    var bluetooth: [String] = []
    func interfaces() throws -> [NetworkInterface] { up }
    func defaultRoutes() throws -> [String] { routes }
    func wirelessDevices() -> [String] { wireless }
    func bluetoothDevices() -> [String] { bluetooth }
}

@Suite("The air-gap preflight refuses a live ceremony on a connected machine")
struct AirGapCheckTests {
    @Test("loopback only and no routes is air-gapped")
    func airGapped() throws {
        let check = AirGapCheck(probe: FakeProbe())
        let report = check.run()
        #expect(report.isAirGapped)
        try check.enforce(report, rehearsal: false)
    }

    @Test("an interface that is up, or a default route, refuses a live ceremony but not a rehearsal")
    func connected() throws {
        for probe in [
            FakeProbe(up: [NetworkInterface(name: "eth0", isUp: true, isLoopback: false)]),
            FakeProbe(routes: ["IPv6 default route via wlan0"]),
        ] {
            let check = AirGapCheck(probe: probe)
            let report = check.run()
            #expect(!report.isAirGapped)
            #expect(throws: CeremonyError.self) { try check.enforce(report, rehearsal: false) }
            try check.enforce(report, rehearsal: true)
        }
    }

    @Test("radio hardware that is down is a warning, not a refusal")
    func radios() {
        let report = AirGapCheck(probe: FakeProbe(wireless: ["phy0"], bluetooth: ["hci0"])).run()
        #expect(report.isAirGapped)
        #expect(report.findings.map(\.description) == [
            "warning: wireless device phy0 is present; remove or disable it",
            "warning: bluetooth controller hci0 is present; remove or disable it",
        ])
    }

    @Test("the real probe inside a fresh network namespace sees no interface up and no route")
    func realNamespace() throws {
        // `unshare -n` gives a namespace with only a down loopback: the state of an air-gapped
        // machine. This runs the real getifaddrs and /proc/net readers there.
        let unshare = try ExternalTool("unshare")
        let probeScript = "cat /proc/net/route; ip -o link show up 2>/dev/null | grep -v ' lo:' | wc -l"
        let result = try unshare.run(["-n", "sh", "-c", probeScript])
        try #require(result.succeeded, "unshare -n needs CAP_SYS_ADMIN: \(result.output)")
        #expect(result.stdout.split(separator: "\n").last == "0")
        // And on this machine as it is (it has a network), the real probe reports something blocking.
        let here = AirGapCheck().run()
        let hasNetwork = try ExternalTool("ip").run(["-o", "link", "show", "up"]).stdout
            .split(separator: "\n").contains { !$0.contains(" lo:") }
        if hasNetwork { #expect(!here.isAirGapped) }
    }
}
