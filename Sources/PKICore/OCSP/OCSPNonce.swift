/// The OCSP nonce extension value (RFC 6960 §4.4.1, length bounds from RFC 8954 §2.1).
///
/// ```
/// id-pkix-ocsp-nonce     OBJECT IDENTIFIER ::= { id-pkix-ocsp 2 }
/// Nonce ::= OCTET STRING(SIZE(1..32))
/// ```
public struct OCSPNonce: Hashable, Sendable {
    public let bytes: [UInt8]

    /// Throws `invalidParameter` unless 1 ≤ count ≤ 32 (RFC 8954 §2.1).
    public init(_ bytes: [UInt8]) throws {
        guard (1...32).contains(bytes.count) else {
            throw PKIError.invalidParameter("OCSP nonce must be 1 to 32 octets (RFC 8954 §2.1), got \(bytes.count)")
        }
        self.bytes = bytes
    }

    static let oid = CompactDER.oid("1.3.6.1.5.5.7.48.1.2")

    /// The nonce Extension SEQUENCE (non-critical), extnValue = DER OCTET STRING of the nonce.
    var extensionDER: [UInt8] {
        let value = CompactDER.wrap(tag: DERTag.octetString, bytes)
        return CompactDER.wrap(tag: DERTag.sequence, Self.oid + CompactDER.wrap(tag: DERTag.octetString, value))
    }

    /// Decodes an extnValue. RFC 6960 §4.4.1 wraps the nonce in an OCTET STRING; some old
    /// clients put the raw bytes in extnValue, which is accepted when it is not a valid wrapper.
    init(extensionValue: ArraySlice<UInt8>) throws {
        var reader = CompactDERReader(extensionValue)
        if reader.peekTag == DERTag.octetString {
            do {
                let inner = try reader.read("nonce")
                if reader.isAtEnd {
                    try self.init(Array(inner.content))
                    return
                }
            } catch let error as PKIError where error.code == .malformedInput {
                // Not a wrapped nonce: fall through to the raw form.
            }
        }
        try self.init(Array(extensionValue))
    }
}
