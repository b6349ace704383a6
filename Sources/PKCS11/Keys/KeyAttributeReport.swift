/// What a generated private key reported for each attribute Rootkeeper requires, read back with
/// C_GetAttributeValue after C_GenerateKeyPair.
public struct KeyAttributeReport: Sendable, Hashable, CustomStringConvertible {
    /// One attribute: its PKCS#11 name, the value required, and what the token reported (nil if
    /// the token would not say).
    public struct Entry: Sendable, Hashable {
        public let attribute: String
        public let expected: Bool
        public let actual: Bool?
        public var matches: Bool { actual == expected }
    }

    public let entries: [Entry]

    /// True when every attribute is as required.
    public var isAsExpected: Bool { entries.allSatisfy(\.matches) }

    /// The entries that differ from the requirement.
    public var mismatches: [Entry] { entries.filter { !$0.matches } }

    /// Value reported for a named attribute such as `CKA_NEVER_EXTRACTABLE`.
    public func value(of attribute: String) -> Bool? {
        entries.first { $0.attribute == attribute }?.actual
    }

    public var description: String {
        entries.map { "\($0.attribute)=\($0.actual.map(String.init) ?? "unavailable")" }.joined(separator: " ")
    }

    /// Builds the report from raw attribute values (a CK_BBOOL is one byte, non-zero is true).
    static func make(from values: [UInt: [UInt8]]) -> KeyAttributeReport {
        KeyAttributeReport(
            entries: KeyPairTemplate.expectedPrivateAttributes.map { type, expected in
                let actual = values[type].flatMap { $0.count == 1 ? $0[0] != 0 : nil }
                return Entry(attribute: CKA.names[type] ?? "CKA_0x\(String(type, radix: 16))", expected: expected, actual: actual)
            })
    }
}
