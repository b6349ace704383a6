import Foundation

/// A strict, allocation-free DER reader over a byte slice (X.690 §10: definite, minimal lengths).
///
/// Used where swift-asn1's node tree would cost one allocation per node: the entries of a large
/// CRL, and OCSP requests on the responder's hot path. Every malformed input is a thrown
/// ``PKIError`` with code `malformedInput`, never a trap.
struct CompactDERReader {
    /// One decoded TLV.
    struct Element {
        let tag: UInt8
        /// The content octets.
        let content: ArraySlice<UInt8>
        /// The whole TLV, header included.
        let encoded: ArraySlice<UInt8>
    }

    private let bytes: ArraySlice<UInt8>
    private(set) var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }

    var isAtEnd: Bool { position >= bytes.endIndex }

    /// The tag of the next element, or nil at the end.
    var peekTag: UInt8? { isAtEnd ? nil : bytes[position] }

    mutating func read(_ what: @autoclosure () -> String) throws -> Element {
        let start = position
        guard start < bytes.endIndex else { throw PKIError.malformed("\(what()): missing (truncated DER)") }
        let tag = bytes[start]
        guard tag & 0x1F != 0x1F else { throw PKIError.malformed("\(what()): multi-byte tags are not supported") }
        var index = start + 1
        guard index < bytes.endIndex else { throw PKIError.malformed("\(what()): truncated length") }
        let first = bytes[index]
        index += 1
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let count = Int(first & 0x7F)
            guard count >= 1, count <= 4 else {
                throw PKIError.malformed("\(what()): indefinite or oversized length")
            }
            guard bytes.endIndex - index >= count else { throw PKIError.malformed("\(what()): truncated length") }
            for _ in 0..<count {
                length = (length << 8) | Int(bytes[index])
                index += 1
            }
            // DER requires the shortest length form (X.690 §10.1).
            guard length >= 0x80, length >> (8 * (count - 1)) != 0 else {
                throw PKIError.malformed("\(what()): non-minimal length encoding")
            }
        }
        guard bytes.endIndex - index >= length else {
            throw PKIError.malformed("\(what()): content runs past the end (truncated DER)")
        }
        position = index + length
        return Element(tag: tag, content: bytes[index..<position], encoded: bytes[start..<position])
    }

    /// Reads the next element and requires its tag.
    mutating func read(tag: UInt8, _ what: @autoclosure () -> String) throws -> Element {
        let element = try read(what())
        guard element.tag == tag else {
            throw PKIError.malformed("\(what()): expected tag 0x\(String(tag, radix: 16)), found 0x\(String(element.tag, radix: 16))")
        }
        return element
    }

    /// Reads the next element only if it has `tag`.
    mutating func readIfPresent(tag: UInt8, _ what: @autoclosure () -> String) throws -> Element? {
        guard peekTag == tag else { return nil }
        return try read(what())
    }

    func requireEnd(_ what: @autoclosure () -> String) throws {
        guard isAtEnd else { throw PKIError.malformed("\(what()): unexpected trailing data") }
    }

    /// Parses a DER INTEGER's content as an unsigned magnitude (no leading zero). Negative values
    /// and non-minimal encodings are rejected (X.690 §8.3.2).
    static func unsignedMagnitude(_ content: ArraySlice<UInt8>, _ what: @autoclosure () -> String) throws -> ArraySlice<UInt8> {
        guard let first = content.first else { throw PKIError.malformed("\(what()): empty INTEGER") }
        guard first & 0x80 == 0 else { throw PKIError.malformed("\(what()): negative INTEGER") }
        if content.count > 1, first == 0, content[content.startIndex + 1] & 0x80 == 0 {
            throw PKIError.malformed("\(what()): non-minimal INTEGER")
        }
        return content.drop(while: { $0 == 0 })
    }

    /// Parses a small non-negative INTEGER/ENUMERATED (one octet, 0...127).
    static func smallInteger(_ content: ArraySlice<UInt8>, _ what: @autoclosure () -> String) throws -> Int {
        guard content.count == 1, let value = content.first, value < 0x80 else {
            throw PKIError.malformed("\(what()): expected a small non-negative integer")
        }
        return Int(value)
    }
}
