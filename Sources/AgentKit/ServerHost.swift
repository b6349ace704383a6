import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The host part of the appliance URL, classified once: an IPv4 or IPv6 literal is matched
/// against the certificate's iPAddress SANs, anything else against its dNSName SANs (RFC 6125
/// §6.2.1, RFC 5280 §4.2.1.6). Classification is by parsing (`inet_pton`), not by guessing from
/// the first character: `3com.example` is a DNS name.
public enum ServerHost: Sendable, Hashable, CustomStringConvertible {
    case dnsName(String)
    case ipv4(String)
    case ipv6(String)

    /// Classifies `host` as it comes from a URL; IPv6 literals may be written with or without
    /// the brackets of RFC 3986 §3.2.2 (`[::1]`).
    public init(_ host: String) {
        var text = host
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if Self.parses(text, family: AF_INET) {
            self = .ipv4(text)
        } else if Self.parses(text, family: AF_INET6) {
            self = .ipv6(text)
        } else {
            self = .dnsName(host)
        }
    }

    /// The name to verify against the certificate (without brackets).
    public var name: String {
        switch self {
        case .dnsName(let name), .ipv4(let name), .ipv6(let name): name
        }
    }

    /// The address literal, or nil for a DNS name.
    public var ipAddress: String? {
        switch self {
        case .dnsName: nil
        case .ipv4(let address), .ipv6(let address): address
        }
    }

    /// The server name for TLS SNI: DNS names only (RFC 6066 §3: "Literal IPv4 and IPv6 addresses
    /// are not permitted in HostName").
    public var sniName: String? {
        if case .dnsName(let name) = self { return name }
        return nil
    }

    /// The `Host` header authority (RFC 9110 §7.2): IPv6 literals in brackets.
    public func authority(port: Int) -> String {
        if case .ipv6(let address) = self { return "[\(address)]:\(port)" }
        return "\(name):\(port)"
    }

    public var description: String { name }

    private static func parses(_ text: String, family: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return text.withCString { inet_pton(family, $0, &buffer) } == 1
    }
}
