import Crypto
import SwiftASN1
import X509

/// Turns the public-key attributes a token reports into a swift-certificates public key.
enum PublicKeyDecoder {
    /// RSA: builds SubjectPublicKeyInfo { rsaEncryption, RSAPublicKey { n, e } } (RFC 8017
    /// Appendix A.1.1, RFC 5280 §4.1.2.7) from CKA_MODULUS and CKA_PUBLIC_EXPONENT.
    static func rsa(modulus: [UInt8], exponent: [UInt8]) throws -> Certificate.PublicKey {
        let n = ArraySlice(modulus.drop { $0 == 0 })
        let e = ArraySlice(exponent.drop { $0 == 0 })
        guard !n.isEmpty, !e.isEmpty else { throw PKCS11Error.malformedResponse("the token returned an empty RSA modulus or exponent") }
        var inner = DER.Serializer()
        try inner.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(n)
            try coder.serialize(e)
        }
        var outer = DER.Serializer()
        try outer.appendConstructedNode(identifier: .sequence) { coder in
            try coder.appendConstructedNode(identifier: .sequence) { algorithm in
                try algorithm.serialize(ASN1ObjectIdentifier(arrayLiteral: 1, 2, 840, 113549, 1, 1, 1))
                try algorithm.serialize(ASN1Null())
            }
            try coder.serialize(ASN1BitString(bytes: ArraySlice(inner.serializedBytes)))
        }
        do {
            return try Certificate.PublicKey(derEncoded: outer.serializedBytes)
        } catch {
            throw PKCS11Error.malformedResponse("the token's RSA public key is not usable: \(error)")
        }
    }

    /// EC: CKA_EC_POINT is a DER OCTET STRING wrapping the uncompressed point (PKCS#11 v2.40
    /// §2.3.3); some tokens return the bare point, which is accepted too.
    static func ec(curve: PKCS11KeySpec.Curve, point: [UInt8]) throws -> Certificate.PublicKey {
        let rawLength = 1 + 2 * curve.coordinateSize
        var x963 = point
        if point.count != rawLength {
            guard let octets = try? ASN1OctetString(derEncoded: point), octets.bytes.count == rawLength else {
                throw PKCS11Error.malformedResponse("CKA_EC_POINT is neither an uncompressed point nor a DER OCTET STRING holding one")
            }
            x963 = Array(octets.bytes)
        }
        do {
            switch curve {
            case .p256: return Certificate.PublicKey(try P256.Signing.PublicKey(x963Representation: x963))
            case .p384: return Certificate.PublicKey(try P384.Signing.PublicKey(x963Representation: x963))
            }
        } catch {
            throw PKCS11Error.malformedResponse("CKA_EC_POINT is not a valid \(curve) point")
        }
    }

    /// Maps CKA_EC_PARAMS back to a supported curve.
    static func curve(parameters: [UInt8]) -> PKCS11KeySpec.Curve? {
        [PKCS11KeySpec.Curve.p256, .p384].first { $0.parameters == parameters }
    }

    /// Reads and decodes the public key object `object`, returning nil for key types Rootkeeper
    /// does not use.
    static func read(object: UInt, session: UInt, functions: any PKCS11Functions) throws -> (Certificate.PublicKey, PKCS11KeySpec.Curve?)? {
        let values = try functions.attributes(
            session: session, object: object, types: [CKA.keyType, CKA.modulus, CKA.publicExponent, CKA.ecParams, CKA.ecPoint])
        guard let keyTypeBytes = values[CKA.keyType], keyTypeBytes.count == MemoryLayout<UInt>.size else { return nil }
        let keyType = keyTypeBytes.withUnsafeBytes { $0.loadUnaligned(as: UInt.self) }
        if keyType == CKK.rsa, let modulus = values[CKA.modulus], let exponent = values[CKA.publicExponent] {
            return (try rsa(modulus: modulus, exponent: exponent), nil)
        }
        if keyType == CKK.ec, let parameters = values[CKA.ecParams], let curve = curve(parameters: parameters),
            let point = values[CKA.ecPoint]
        {
            return (try ec(curve: curve, point: point), curve)
        }
        return nil
    }
}
