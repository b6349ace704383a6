import Foundation
import TestSupport
import Testing

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
            let refusal = #expect(throws: CeremonyError.self) { try check.enforce(report, rehearsal: false) }
            #expect(
                refusal?.code == .airGap && refusal?.reason.hasPrefix("this machine is not air-gapped (") == true, "\(String(describing: refusal))")
            try check.enforce(report, rehearsal: true)
        }
    }

    @Test("an interface that is up without carrier, or any radio, refuses a live ceremony; a rehearsal only reports it")
    func radiosAndNoCarrier() throws {
        let check = AirGapCheck(
            probe: FakeProbe(
                up: [
                    NetworkInterface(name: "lo", isUp: true, isLoopback: true),
                    NetworkInterface(name: "eth1", isUp: true, isLoopback: false, hasCarrier: false),
                ],
                wireless: ["phy0"], bluetooth: ["hci0"]))
        let report = check.run()
        #expect(!report.isAirGapped)
        #expect(
            report.findings.map(\.description) == [
                "REFUSE: network interface eth1 is up (no carrier yet)",
                "REFUSE: wireless device phy0 is present; remove it or blacklist its driver",
                "REFUSE: bluetooth controller hci0 is present; remove it or blacklist its driver",
            ])
        #expect {
            try check.enforce(report, rehearsal: false)
        } throws: { error in
            (error as? CeremonyError)?.code == .airGap && "\(error)".contains("wireless device phy0")
        }
        try check.enforce(report, rehearsal: true)
    }

    @Test("the Linux probe reads radios from an injected sysfs and procfs tree")
    func fakeSysfs() throws {
        let tree = try TemporaryDirectory("sysfs")
        defer { tree.remove() }
        let probe = LinuxSystemProbe(sysfs: tree.file("sys"), procfs: tree.file("proc"))
        try FileManager.default.createDirectory(atPath: tree.file("sys/class"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: tree.file("proc/net"), withIntermediateDirectories: true)
        #expect(probe.wirelessDevices().isEmpty && probe.bluetoothDevices().isEmpty)
        #expect(try probe.defaultRoutes().isEmpty)
        try FileManager.default.createDirectory(atPath: tree.file("sys/class/ieee80211/phy0"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: tree.file("sys/class/bluetooth/hci0"), withIntermediateDirectories: true)
        try """
        Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE
         face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22
        wlan0: 0000   70.  -40.  -256        0      0      0      0      0        0

        """.write(toFile: tree.file("proc/net/wireless"), atomically: true, encoding: .utf8)
        try
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
            .write(toFile: tree.file("proc/net/route"), atomically: true, encoding: .utf8)
        #expect(probe.wirelessDevices() == ["phy0", "wlan0"])
        #expect(probe.bluetoothDevices() == ["hci0"])
        #expect(try probe.defaultRoutes() == ["IPv4 default route via eth0"])
        let report = AirGapCheck(probe: probe).run()
        #expect(!report.isAirGapped)
    }
}

/// The real `ceremony preflight` (its own getifaddrs/sysfs probe, not `ip` or `cat`) inside fresh
/// network (and mount) namespaces, set up as an air-gapped machine and then spoiled one way at a time.
@Suite("ceremony preflight in a network namespace")
struct AirGapNamespaceTests {
    /// Runs `setup` (shell, as root in new namespaces) then `ceremony preflight`.
    func preflight(after setup: String) throws -> ExternalTool.Result {
        let script = "set -e; \(setup)\nexec \"$0\" preflight"
        let result = try ExternalTool("unshare").run(["-n", "-m", "sh", "-c", script, ProductBinary.path("ceremony")])
        return result
    }

    @Test("loopback only passes; a dummy interface up refuses; the same interface down passes")
    func interfaces() throws {
        let clean = try preflight(after: "true")
        #expect(
            clean.succeeded && clean.stdout.contains("air gap: no interface up, no default route, no radio")
                && clean.stdout.contains("preflight: OK"),
            "\(clean.output)")
        let loopback = try preflight(after: "ip link set lo up")
        #expect(loopback.succeeded, "\(loopback.output)")
        // A dummy interface where the kernel has the module; otherwise one end of a veth pair.
        let addD0 = "ip link add d0 type dummy 2>/dev/null || ip link add d0 type veth peer name d1"
        let dummyUp = try preflight(after: "\(addD0); ip link set d0 up")
        #expect(!dummyUp.succeeded && dummyUp.output.contains("network interface d0 is up"), "\(dummyUp.output)")
        let dummyDown = try preflight(after: "\(addD0); ip link set d0 up; ip link set d0 down")
        #expect(dummyDown.succeeded && dummyDown.stdout.contains("preflight: OK"), "\(dummyDown.output)")
    }

    @Test("an interface that is up without carrier refuses (one cable away from a network)")
    func upWithoutCarrier() throws {
        // A veth whose peer is down is administratively up but has no carrier (NO-CARRIER).
        let result = try preflight(after: "ip link add v0 type veth peer name v1; ip link set v0 up; ip -o link show v0")
        #expect(result.stdout.contains("NO-CARRIER"), "the set-up did not make an interface without carrier: \(result.output)")
        #expect(!result.succeeded && result.output.contains("network interface v0 is up (no carrier yet)"), "\(result.output)")
    }

    @Test("a wireless or bluetooth device in sysfs refuses, even with no interface up")
    func radios() throws {
        // A private tmpfs over /sys/class in this mount namespace stands in for the radio's sysfs entries.
        for (directory, message) in [("ieee80211/phy0", "wireless device phy0"), ("bluetooth/hci0", "bluetooth controller hci0")] {
            let result = try preflight(after: "mount -t tmpfs tmpfs /sys/class; mkdir -p /sys/class/\(directory)")
            #expect(!result.succeeded && result.output.contains(message) && result.stderr.contains("preflight failed"), "\(result.output)")
            let rehearsal = try ExternalTool("unshare").run([
                "-n", "-m", "sh", "-c", "mount -t tmpfs tmpfs /sys/class; mkdir -p /sys/class/\(directory); exec \"$0\" preflight --rehearsal",
                ProductBinary.path("ceremony"),
            ])
            #expect(rehearsal.succeeded && rehearsal.stdout.contains("REHEARSAL ONLY"), "\(rehearsal.output)")
        }
    }
}
