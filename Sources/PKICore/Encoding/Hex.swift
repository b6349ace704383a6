/// Lower-case hexadecimal, the one textual form of serials, key identifiers and digests in the store.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Lower-case hex of `bytes`.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes of a hex string (either case); `nil` for odd length or a non-hex character.
    ///
    /// With `typed: true` the text is what a person copies from `openssl x509 -serial` or a
    /// printed fingerprint: `:` separators and a `0x` prefix are ignored and an odd number of
    /// digits gets a leading zero.
    public static func decode(_ string: String, typed: Bool = false) -> [UInt8]? {
        var text = string
        if typed {
            text = text.lowercased().replacingOccurrences(of: ":", with: "")
            if text.hasPrefix("0x") { text.removeFirst(2) }
            if text.count % 2 == 1 { text = "0" + text }
        }
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = value(chars[index]), let low = value(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func value(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): char - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
