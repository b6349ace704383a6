import SwiftASN1
import X509

/// What a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) says about its key, parsed with our own ASN.1
/// walk so that keys swift-crypto refuses to load (RSA-1024, P-521, odd exponents) can still be
/// *described* in a rejection reason instead of failing with an opaque parse error.
public struct PublicKeyInfo: Sendable, Hashable, CustomStringConvertible {
    /// The key type as the SPKI algorithm identifier says.
    public enum Kind: Sendable, Hashable {
        /// rsaEncryption (RFC 3279 §2.3.1) with modulus size in bits and public exponent.
        case rsa(bits: Int, exponent: UInt64?)
        /// id-ecPublicKey (RFC 5480 §2.1.1) with the named curve OID, if present.
        case ec(curve: ASN1ObjectIdentifier?)
        /// Any other algorithm.
        case other(algorithm: ASN1ObjectIdentifier)
    }

    static let rsaEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 1]
    static let ecPublicKey: ASN1ObjectIdentifier = [1, 2, 840, 10045, 2, 1]
    static let secp256r1: ASN1ObjectIdentifier = [1, 2, 840, 10045, 3, 1, 7]
    static let secp384r1: ASN1ObjectIdentifier = [1, 3, 132, 0, 34]
    static let secp521r1: ASN1ObjectIdentifier = [1, 3, 132, 0, 35]

    public let kind: Kind

    /// Parses DER SubjectPublicKeyInfo. Throws `PKIError.malformed` on anything that is not one.
    public init(spkiDER: [UInt8]) throws {
        do {
            let root = try DER.parse(spkiDER)
            guard case .constructed(let spkiChildren) = root.content else {
                throw PKIError.malformed("SubjectPublicKeyInfo is not a SEQUENCE")
            }
            var children = spkiChildren.makeIterator()
            guard let algorithmNode = children.next(), let keyNode = children.next(),
                case .constructed(let algorithmChildren) = algorithmNode.content
            else {
                throw PKIError.malformed("SubjectPublicKeyInfo is missing its algorithm or key")
            }
            var algorithmIterator = algorithmChildren.makeIterator()
            guard let oidNode = algorithmIterator.next() else {
                throw PKIError.malformed("SubjectPublicKeyInfo algorithm has no OID")
            }
            let algorithm = try ASN1ObjectIdentifier(derEncoded: oidNode)
            let keyBits = try ASN1BitString(derEncoded: keyNode)
            switch algorithm {
            case Self.rsaEncryption:
                // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 A.1.1)
                let rsaNode = try DER.parse(Array(keyBits.bytes))
                guard case .constructed(let rsaChildren) = rsaNode.content else {
                    throw PKIError.malformed("RSA public key is not a SEQUENCE")
                }
                var rsaIterator = rsaChildren.makeIterator()
                guard let modulusNode = rsaIterator.next(), let exponentNode = rsaIterator.next() else {
                    throw PKIError.malformed("RSA public key lacks modulus or exponent")
                }
                let modulus = try ArraySlice<UInt8>(derEncoded: modulusNode)
                let exponent = try ArraySlice<UInt8>(derEncoded: exponentNode)
                kind = .rsa(bits: Self.bitLength(modulus), exponent: Self.smallInteger(exponent))
            case Self.ecPublicKey:
                let curve = try algorithmIterator.next().map { try ASN1ObjectIdentifier(derEncoded: $0) }
                kind = .ec(curve: curve)
            default:
                kind = .other(algorithm: algorithm)
            }
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError.malformed("SubjectPublicKeyInfo is not valid DER: \(error)")
        }
    }

    /// The supported algorithm this key is, or nil (RSA of another size, other curves, others).
    public var keyAlgorithm: KeyAlgorithm? {
        switch kind {
        case .rsa(let bits, _):
            switch bits {
            case 2048: .rsa2048
            case 3072: .rsa3072
            case 4096: .rsa4096
            default: nil
            }
        case .ec(let curve):
            curve == Self.secp256r1 ? .p256 : curve == Self.secp384r1 ? .p384 : nil
        case .other:
            nil
        }
    }

    public var description: String {
        switch kind {
        case .rsa(let bits, let exponent): "RSA-\(bits) (e=\(exponent.map(String.init) ?? "huge"))"
        case .ec(let curve):
            switch curve {
            case Self.secp256r1: "EC P-256"
            case Self.secp384r1: "EC P-384"
            case Self.secp521r1: "EC P-521"
            default: "EC curve \(curve.map { "\($0)" } ?? "unnamed")"
            }
        case .other(let algorithm): "key algorithm \(algorithm)"
        }
    }

    /// Bits in a big-endian unsigned integer (ignoring a leading sign octet).
    static func bitLength(_ bytes: ArraySlice<UInt8>) -> Int {
        guard let first = bytes.firstIndex(where: { $0 != 0 }) else { return 0 }
        let leading = bytes[first]
        return (bytes.endIndex - first - 1) * 8 + (8 - leading.leadingZeroBitCount)
    }

    /// The value of a non-negative integer of at most 8 significant octets.
    static func smallInteger(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        let significant = bytes.drop(while: { $0 == 0 })
        guard significant.count <= 8 else { return nil }
        return significant.reduce(0) { ($0 << 8) | UInt64($1) }
    }
}
