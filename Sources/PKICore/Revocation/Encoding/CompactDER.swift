import Foundation

/// Byte-level DER writing for the hot paths of CRL and OCSP encoding (X.690 §8, §10).
///
/// swift-asn1's `DER.Serializer` builds nested nodes and shifts bytes as lengths become known;
/// that is fine for one certificate but not for a CRL with a million entries. Here lengths are
/// computed first and every TLV is written once, front to back, into one pre-sized buffer.
enum CompactDER {
    /// Number of bytes the DER length field takes for a content of `length` bytes (X.690 §8.1.3).
    @inline(__always)
    static func lengthOfLength(_ length: Int) -> Int {
        if length < 0x80 { return 1 }
        var n = length
        var bytes = 0
        while n > 0 {
            bytes += 1
            n >>= 8
        }
        return 1 + bytes
    }

    /// Size of a whole TLV (one-byte tag) whose content is `contentLength` bytes.
    @inline(__always)
    static func tlvSize(_ contentLength: Int) -> Int { 1 + lengthOfLength(contentLength) + contentLength }

    @inline(__always)
    static func appendLength(_ length: Int, to out: inout [UInt8]) {
        if length < 0x80 {
            out.append(UInt8(length))
            return
        }
        let count = lengthOfLength(length) - 1
        out.append(0x80 | UInt8(count))
        for shift in stride(from: (count - 1) * 8, through: 0, by: -8) {
            out.append(UInt8(truncatingIfNeeded: length >> shift))
        }
    }

    @inline(__always)
    static func appendHeader(tag: UInt8, length: Int, to out: inout [UInt8]) {
        out.append(tag)
        appendLength(length, to: &out)
    }

    static func appendTLV(tag: UInt8, content: some Collection<UInt8>, to out: inout [UInt8]) {
        appendHeader(tag: tag, length: content.count, to: &out)
        out.append(contentsOf: content)
    }

    /// Content length of an unsigned big-endian magnitude encoded as a DER INTEGER: a leading
    /// zero is needed when the top bit is set, and zero itself is one 0x00 octet (X.690 §8.3).
    @inline(__always)
    static func unsignedIntegerContentLength(_ magnitude: ArraySlice<UInt8>) -> Int {
        guard let first = magnitude.first else { return 1 }
        return magnitude.count + (first & 0x80 != 0 ? 1 : 0)
    }

    static func appendUnsignedInteger(_ magnitude: ArraySlice<UInt8>, tag: UInt8 = 0x02, to out: inout [UInt8]) {
        let length = unsignedIntegerContentLength(magnitude)
        appendHeader(tag: tag, length: length, to: &out)
        if magnitude.isEmpty || length > magnitude.count { out.append(0) }
        out.append(contentsOf: magnitude)
    }

    /// Encodes a small non-negative integer (versions, ENUMERATED reason codes, 0...127).
    static func smallIntegerContent(_ value: UInt8) -> [UInt8] {
        precondition(value < 0x80, "small integer out of range")
        return [value]
    }

    /// Wraps `content` (already encoded) in a TLV.
    static func wrap(tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(tlvSize(content.count))
        appendTLV(tag: tag, content: content, to: &out)
        return out
    }

    /// Encodes a dotted OID string known at compile time (X.690 §8.19). Only for constants
    /// spelled in this module (the force-unwrap never sees input data).
    static func oid(_ dotted: String) -> [UInt8] {
        let arcs = dotted.split(separator: ".").map { UInt64($0)! }
        var content: [UInt8] = []
        func base128(_ value: UInt64) {
            var chunks: [UInt8] = [UInt8(value & 0x7F)]
            var v = value >> 7
            while v > 0 {
                chunks.append(UInt8(v & 0x7F) | 0x80)
                v >>= 7
            }
            content.append(contentsOf: chunks.reversed())
        }
        base128(arcs[0] * 40 + arcs[1])
        for arc in arcs.dropFirst(2) { base128(arc) }
        return wrap(tag: 0x06, content)
    }

    static let null: [UInt8] = [0x05, 0x00]
}

/// DER tag bytes used by the revocation encoders.
enum DERTag {
    static let boolean: UInt8 = 0x01
    static let integer: UInt8 = 0x02
    static let bitString: UInt8 = 0x03
    static let octetString: UInt8 = 0x04
    static let oid: UInt8 = 0x06
    static let enumerated: UInt8 = 0x0A
    static let utcTime: UInt8 = 0x17
    static let generalizedTime: UInt8 = 0x18
    static let sequence: UInt8 = 0x30
    static let set: UInt8 = 0x31
    /// Context-specific constructed [n] (EXPLICIT tags and constructed IMPLICIT ones).
    static func contextConstructed(_ n: UInt8) -> UInt8 { 0xA0 | n }
    /// Context-specific primitive [n].
    static func contextPrimitive(_ n: UInt8) -> UInt8 { 0x80 | n }
}
