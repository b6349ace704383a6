import Foundation

/// The air-gap preflight of docs/ceremony.md#air-gap-preflight: a live ceremony is refused while any non-loopback
/// interface is administratively up (with or without carrier), a default route exists, or any
/// wireless or Bluetooth device is present (a radio that is down can be brought up by anything
/// running on the machine; remove it or blacklist its driver). A rehearsal only reports them.
public struct AirGapCheck: Sendable {
    /// One observation, blocking or not.
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public var blocking: Bool
        public var message: String
        public var description: String { (blocking ? "REFUSE: " : "warning: ") + message }
    }

    /// All observations; the machine counts as air-gapped when none is blocking.
    public struct Report: Sendable, Equatable {
        public var findings: [Finding]
        public var isAirGapped: Bool { !findings.contains(where: \.blocking) }
    }

    private let probe: any SystemProbe

    public init(probe: any SystemProbe = LinuxSystemProbe()) { self.probe = probe }

    /// Inspects the machine. Failure to inspect is itself blocking: we cannot show the machine is
    /// offline, so we do not assume it (fail closed).
    public func run() -> Report {
        var findings: [Finding] = []
        do {
            for interface in try probe.interfaces() where interface.isUp && !interface.isLoopback {
                findings.append(
                    Finding(
                        blocking: true,
                        message: "network interface \(interface.name) is up\(interface.hasCarrier ? "" : " (no carrier yet)")"))
            }
        } catch {
            findings.append(Finding(blocking: true, message: "cannot list network interfaces: \(ErrorText.of(error))"))
        }
        do {
            for route in try probe.defaultRoutes() {
                findings.append(Finding(blocking: true, message: route))
            }
        } catch {
            findings.append(Finding(blocking: true, message: "cannot read the routing table: \(ErrorText.of(error))"))
        }
        for device in probe.wirelessDevices() {
            findings.append(Finding(blocking: true, message: "wireless device \(device) is present; remove it or blacklist its driver"))
        }
        for device in probe.bluetoothDevices() {
            findings.append(Finding(blocking: true, message: "bluetooth controller \(device) is present; remove it or blacklist its driver"))
        }
        return Report(findings: findings)
    }

    /// Throws for a live ceremony on a machine that is not air-gapped; a rehearsal only notes it.
    public func enforce(_ report: Report, rehearsal: Bool) throws {
        guard !report.isAirGapped, !rehearsal else { return }
        let reasons = report.findings.filter(\.blocking).map(\.message).joined(separator: "; ")
        throw CeremonyError(
            .airGap,
            "this machine is not air-gapped (\(reasons)); disconnect it, or mark the plan or environment as a rehearsal")
    }
}
