import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What the air-gap preflight needs to know about the machine, behind a protocol so the decision
/// logic can be tested with any machine state (docs/conventions.md#c-behind-a-protocol).
public protocol SystemProbe: Sendable {
    /// Network interfaces visible in this network namespace.
    func interfaces() throws -> [NetworkInterface]
    /// Default routes (IPv4 and IPv6), described for people, e.g. "IPv4 default route via eth0".
    func defaultRoutes() throws -> [String]
    /// Wireless network devices present (even if down).
    func wirelessDevices() -> [String]
    /// Bluetooth controllers present.
    func bluetoothDevices() -> [String]
}

/// A network interface and its state.
public struct NetworkInterface: Sendable, Equatable {
    public var name: String
    /// Administratively up (IFF_UP), whether or not a cable or carrier is present: plugging a
    /// cable in later would connect it without any further action.
    public var isUp: Bool
    public var isLoopback: Bool
    /// The link has carrier (IFF_RUNNING); shown to explain a refusal, not used to decide it.
    public var hasCarrier: Bool
    public init(name: String, isUp: Bool, isLoopback: Bool, hasCarrier: Bool = true) {
        self.name = name
        self.isUp = isUp
        self.isLoopback = isLoopback
        self.hasCarrier = hasCarrier
    }
}

/// The probe for Linux: getifaddrs(3) and /proc/net for the current network namespace, sysfs for
/// radio hardware.
public struct LinuxSystemProbe: SystemProbe {
    /// Where sysfs is mounted (`/sys`); a test points this at a fake tree.
    public var sysfs: String
    /// Where procfs is mounted (`/proc`), for the routing tables and /proc/net/wireless.
    public var procfs: String

    public init(sysfs: String = "/sys", procfs: String = "/proc") {
        self.sysfs = sysfs
        self.procfs = procfs
    }

    public func interfaces() throws -> [NetworkInterface] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { throw CeremonyError(.airGap, "getifaddrs failed: \(String(cString: strerror(errno)))") }
        defer { freeifaddrs(list) }
        var byName: [String: NetworkInterface] = [:]
        var cursor = list
        while let entry = cursor {
            let name = String(cString: entry.pointee.ifa_name)
            let flags = Int32(bitPattern: entry.pointee.ifa_flags)
            // IFF_UP alone: an interface that is up without carrier is one cable away from a network.
            let isUp = flags & Int32(IFF_UP) != 0
            let isLoopback = flags & Int32(IFF_LOOPBACK) != 0
            var current = byName[name] ?? NetworkInterface(name: name, isUp: false, isLoopback: isLoopback, hasCarrier: false)
            current.isUp = current.isUp || isUp
            current.hasCarrier = current.hasCarrier || flags & Int32(IFF_RUNNING) != 0
            byName[name] = current
            cursor = entry.pointee.ifa_next
        }
        return byName.values.sorted { $0.name < $1.name }
    }

    public func defaultRoutes() throws -> [String] {
        var routes: [String] = []
        // /proc/net/route: Iface Destination Gateway Flags … ; destination 00000000 is the default.
        if let table = try? String(contentsOfFile: "\(procfs)/net/route", encoding: .utf8) {
            for line in table.split(separator: "\n").dropFirst() {
                let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
                if fields.count > 3, fields[1] == "00000000", let flags = Int(fields[3], radix: 16), flags & 0x1 != 0 {
                    routes.append("IPv4 default route via \(fields[0])")
                }
            }
        }
        // /proc/net/ipv6_route: dest(32 hex) prefixlen … flags iface; ::/0 that is not the
        // unreachable (reject) route is a default.
        if let table = try? String(contentsOfFile: "\(procfs)/net/ipv6_route", encoding: .utf8) {
            for line in table.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count >= 10, fields[0] == String(repeating: "0", count: 32), fields[1] == "00" else { continue }
                let flags = Int(fields[8], radix: 16) ?? 0
                let rejected = flags & 0x0200 != 0  // RTF_REJECT
                if !rejected, fields[9] != "lo" { routes.append("IPv6 default route via \(fields[9])") }
            }
        }
        return routes
    }

    public func wirelessDevices() -> [String] {
        var devices = (try? FileManager.default.contentsOfDirectory(atPath: "\(sysfs)/class/ieee80211")) ?? []
        if let wireless = try? String(contentsOfFile: "\(procfs)/net/wireless", encoding: .utf8) {
            for line in wireless.split(separator: "\n").dropFirst(2) {
                if let name = line.split(separator: ":").first { devices.append(name.trimmingCharacters(in: .whitespaces)) }
            }
        }
        return devices.sorted()
    }

    public func bluetoothDevices() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(sysfs)/class/bluetooth")) ?? []).sorted()
    }
}
