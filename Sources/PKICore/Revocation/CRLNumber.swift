import Foundation

/// The cRLNumber extension value (RFC 5280 §5.2.3): a non-negative integer of at most 20
/// octets that a CRL issuer increases monotonically for each CRL of a scope.
///
/// ```
/// id-ce-cRLNumber OBJECT IDENTIFIER ::= { id-ce 20 }
/// CRLNumber ::= INTEGER (0..MAX)
/// ```
///
/// Stored as a big-endian magnitude without leading zeros so it can exceed 64 bits.
public struct CRLNumber: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Big-endian magnitude, no leading zero octets (empty for zero).
    public let magnitude: [UInt8]

    /// Creates a CRL number from a machine integer.
    public init(_ value: UInt64) {
        var bytes: [UInt8] = []
        var v = value
        while v > 0 {
            bytes.insert(UInt8(v & 0xFF), at: 0)
            v >>= 8
        }
        magnitude = bytes
    }

    /// Creates a CRL number from big-endian magnitude bytes. Throws `invalidParameter` when
    /// the DER INTEGER would exceed 20 octets ("CRL issuers MUST NOT use CRLNumber values
    /// longer than 20 octets", RFC 5280 §5.2.3).
    public init(magnitude bytes: some Collection<UInt8>) throws {
        let trimmed = Array(bytes.drop(while: { $0 == 0 }))
        guard CompactDER.unsignedIntegerContentLength(trimmed[...]) <= 20 else {
            throw PKIError.invalidParameter("CRL number longer than 20 octets (RFC 5280 §5.2.3)")
        }
        magnitude = trimmed
    }

    /// The next number (this + 1). Throws when it would exceed 20 octets.
    public func next() throws -> CRLNumber {
        var bytes = magnitude
        var index = bytes.count - 1
        while index >= 0 {
            if bytes[index] == 0xFF {
                bytes[index] = 0
                index -= 1
            } else {
                bytes[index] += 1
                break
            }
        }
        if index < 0 { bytes.insert(1, at: 0) }
        return try CRLNumber(magnitude: bytes)
    }

    /// The value as a `UInt64` when it fits.
    public var uint64Value: UInt64? {
        guard magnitude.count <= 8 else { return nil }
        return magnitude.reduce(0) { $0 << 8 | UInt64($1) }
    }

    public static func < (lhs: CRLNumber, rhs: CRLNumber) -> Bool {
        if lhs.magnitude.count != rhs.magnitude.count { return lhs.magnitude.count < rhs.magnitude.count }
        return lhs.magnitude.lexicographicallyPrecedes(rhs.magnitude)
    }

    /// Decimal when it fits in 64 bits, otherwise `0x` and hex.
    public var description: String {
        if let value = uint64Value { return String(value) }
        return "0x" + magnitude.map { String(format: "%02X", $0) }.joined()
    }
}
