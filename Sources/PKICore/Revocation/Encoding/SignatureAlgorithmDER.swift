import Crypto
import Foundation
import X509
import _CryptoExtras

/// The AlgorithmIdentifier encodings for the signature algorithms CRLs and OCSP responses use.
///
/// swift-certificates keeps its `AlgorithmIdentifier` internal, so the few encodings we need
/// are spelled out here: ECDSA without parameters (RFC 5758 §3.2), RSA PKCS#1 v1.5 with an
/// explicit NULL (RFC 4055 §5), Ed25519 without parameters (RFC 8410 §3).
enum SignatureAlgorithmDER {
    private static let table: [(Certificate.SignatureAlgorithm, String, Bool)] = [
        (.ecdsaWithSHA256, "1.2.840.10045.4.3.2", false),
        (.ecdsaWithSHA384, "1.2.840.10045.4.3.3", false),
        (.ecdsaWithSHA512, "1.2.840.10045.4.3.4", false),
        (.sha256WithRSAEncryption, "1.2.840.113549.1.1.11", true),
        (.sha384WithRSAEncryption, "1.2.840.113549.1.1.12", true),
        (.sha512WithRSAEncryption, "1.2.840.113549.1.1.13", true),
        (.ed25519, "1.3.101.112", false),
    ]

    private static let encodings: [(Certificate.SignatureAlgorithm, [UInt8], [UInt8])] = table.map { algorithm, oid, null in
        let oidBytes = CompactDER.oid(oid)
        return (algorithm, oidBytes, CompactDER.wrap(tag: DERTag.sequence, oidBytes + (null ? CompactDER.null : [])))
    }

    /// The DER AlgorithmIdentifier for `algorithm`. SHA-1 signatures are refused.
    static func encode(_ algorithm: Certificate.SignatureAlgorithm) throws -> [UInt8] {
        guard let entry = encodings.first(where: { $0.0 == algorithm }) else {
            throw PKIError.unsupported("signature algorithm \(algorithm) is not supported for CRLs and OCSP")
        }
        return entry.2
    }

    /// Decodes an AlgorithmIdentifier SEQUENCE. RSA parameters may be NULL or absent (RFC 4055 §5).
    static func decode(_ element: CompactDERReader.Element) throws -> Certificate.SignatureAlgorithm {
        guard element.tag == DERTag.sequence else { throw PKIError.malformed("signature algorithm: expected SEQUENCE") }
        var reader = CompactDERReader(element.content)
        let oid = try reader.read(tag: DERTag.oid, "signature algorithm OID")
        let params = reader.isAtEnd ? nil : try reader.read("signature algorithm parameters")
        try reader.requireEnd("signature algorithm")
        guard let entry = encodings.first(where: { $0.1[...] == oid.encoded }) else {
            throw PKIError.unsupported("signature algorithm with OID bytes \(oid.encoded.map { String($0, radix: 16) }) is not supported")
        }
        if let params, !(params.tag == 0x05 && params.content.isEmpty && table.contains(where: { $0.0 == entry.0 && $0.2 })) {
            throw PKIError.malformed("signature algorithm: unexpected parameters")
        }
        return entry.0
    }

    /// The signature algorithm Rootkeeper uses for a key: SHA-256 with P-256 and RSA, SHA-384
    /// with P-384, SHA-512 with P-521, and Ed25519 (the hash matches the curve strength,
    /// RFC 5480 §4).
    static func defaultAlgorithm(for key: Certificate.PublicKey) throws -> Certificate.SignatureAlgorithm {
        if P256.Signing.PublicKey(key) != nil { return .ecdsaWithSHA256 }
        if P384.Signing.PublicKey(key) != nil { return .ecdsaWithSHA384 }
        if P521.Signing.PublicKey(key) != nil { return .ecdsaWithSHA512 }
        if _RSA.Signing.PublicKey(key) != nil { return .sha256WithRSAEncryption }
        if Curve25519.Signing.PublicKey(key) != nil { return .ed25519 }
        throw PKIError.unsupported("no signature algorithm for key \(key)")
    }
}
