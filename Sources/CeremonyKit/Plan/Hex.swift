/// Hexadecimal helpers for serials, key IDs and fingerprints as officers type them (case and
/// colons tolerated).
public enum Hex {
    /// Decodes hex text (optionally with `:` separators or a `0x` prefix); nil if it is not hex.
    public static func decode(_ text: String) -> [UInt8]? {
        var digits = text.lowercased().replacingOccurrences(of: ":", with: "")
        if digits.hasPrefix("0x") { digits.removeFirst(2) }
        if digits.count % 2 == 1 { digits = "0" + digits }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            guard let byte = UInt8(digits[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    /// Lower-case hex without separators.
    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        bytes.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }
}
