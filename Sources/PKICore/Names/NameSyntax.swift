/// Syntax checks for the identifiers that appear in subjects and SANs.
public enum NameSyntax {
    /// RFC 1123 §2.1 host name: dot-separated labels of letters, digits and hyphens, each 1–63
    /// octets, not starting or ending with a hyphen, total at most 253 octets. The last label must
    /// not be all digits: RFC 1123 §2.1 says a host name can never have the dotted-decimal form of
    /// an IPv4 address, and RFC 3696 §2 that top-level domains are never all-numeric — so
    /// `127.0.0.1` is refused as a host name and cannot be confused with an address.
    public static func isValidHostname(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            let octets = Array(label.utf8)
            guard (1...63).contains(octets.count) else { return false }
            guard octets.first != UInt8(ascii: "-"), octets.last != UInt8(ascii: "-") else { return false }
            for octet in octets {
                let ok =
                    (octet >= 0x30 && octet <= 0x39) || (octet >= 0x41 && octet <= 0x5a)
                    || (octet >= 0x61 && octet <= 0x7a) || octet == UInt8(ascii: "-")
                guard ok else { return false }
            }
        }
        guard let last = labels.last, !last.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        return true
    }

    /// The canonical spelling of a host name: validated, then lower-cased. DNS names compare
    /// case-insensitively (RFC 4343 §3, RFC 5280 §7.2 for dNSName matching), so two spellings that
    /// differ only in case are one name and must map to one agent. `nil` when not a valid host name.
    public static func canonicalHostname(_ name: String) -> String? {
        guard isValidHostname(name) else { return nil }
        return asciiLowercased(name)
    }

    /// Why `name` was refused as a host name, with what a valid one looks like.
    public static func invalidHostnameReason(_ name: String) -> String {
        "'\(name)' is not a valid host name: use letters, digits and hyphens in dot-separated labels of 1–63 characters, at most 253 in all, not ending in an all-numeric label"
    }

    /// ASCII-only lower-casing: host names are ASCII (LDH), and `String.lowercased()` would apply
    /// Unicode rules (e.g. to a Kelvin sign) to text that is about to be refused anyway.
    public static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { ($0 >= 0x41 && $0 <= 0x5a) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    /// RFC 4122 §3 string form: 8-4-4-4-12 hex digits. Lowercase is canonical (RFC 4122 §3 says
    /// output is lowercase); uppercase is refused so a certificate has one spelling per UUID.
    public static func isValidUUID(_ uuid: String) -> Bool {
        let bytes = Array(uuid.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                let hex = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)
                guard hex else { return false }
            }
        }
        return true
    }
}
