import X509

/// Each certificate appears at most once. RFC 5280 §5.1.2.6: revoked certificates "are listed
/// by their serial numbers"; a second entry for the same serial (with a possibly different date
/// or reason) makes the CRL ambiguous.
///
/// Serials are at most 20 octets, so they are packed into a fixed-width key: a million entries
/// cost one hash set of 32-byte values and no per-entry allocation.
struct CRLUniqueSerialsRule: CRLLintRule {
    static let name = "crl_entries_unique_serials"
    static let citation = "RFC 5280 §5.1.2.6"

    private struct Key: Hashable {
        var a: UInt64 = 0, b: UInt64 = 0, c: UInt32 = 0, count: UInt8 = 0
    }

    private var seen = Set<Key>()

    /// Reserves room for `expectedEntries` serials up front, so a large CRL does not rehash.
    init(expectedEntries: Int = 0) {
        seen.reserveCapacity(expectedEntries)
    }

    mutating func checkEntry(_ entry: RevokedCertificate) -> String? {
        let bytes = entry.serialNumber.bytes
        var key = Key(count: UInt8(truncatingIfNeeded: bytes.count))
        for (offset, byte) in bytes.enumerated() {
            switch offset {
            case 0..<8: key.a = key.a << 8 | UInt64(byte)
            case 8..<16: key.b = key.b << 8 | UInt64(byte)
            default: key.c = key.c << 8 | UInt32(byte)
            }
        }
        return seen.insert(key).inserted ? nil : "serial \(entry.serialNumber.revocationHex) is listed more than once"
    }
}
