import Crypto
import PKICore
import Testing

@testable import PKCS11

@Suite("Signature encoding and secret handling")
struct SigningEncodingTests {
    @Test("raw r||s from a token becomes the same DER ECDSA-Sig-Value swift-crypto produces", arguments: 0..<16)
    func ecdsaDER(round: Int) throws {
        // Software keys stand in for the token: rawRepresentation is exactly PKCS#11's r||s.
        let key = P384.Signing.PrivateKey()
        let signature = try key.signature(for: Array("message \(round)".utf8))
        #expect(try PKCS11PrivateKey.ecdsaSigValue(raw: Array(signature.rawRepresentation)) == Array(signature.derRepresentation))
    }

    @Test("an odd-length ECDSA signature from a token is refused")
    func oddLength() {
        let error = #expect(throws: PKCS11Error.self) { try PKCS11PrivateKey.ecdsaSigValue(raw: [1, 2, 3]) }
        #expect(error?.code == .malformedResponse && error?.reason.contains("odd length 3") == true, "\(String(describing: error))")
    }

    @Test("CKA_EC_POINT is accepted as a DER OCTET STRING or as a bare point")
    func ecPointForms() throws {
        let key = P384.Signing.PrivateKey().publicKey
        let point = Array(key.x963Representation)
        let wrapped = [0x04, UInt8(point.count)] + point
        #expect(try PublicKeyDecoder.ec(curve: .p384, point: wrapped) == .init(key))
        #expect(try PublicKeyDecoder.ec(curve: .p384, point: point) == .init(key))
        let error = #expect(throws: PKCS11Error.self) { try PublicKeyDecoder.ec(curve: .p384, point: Array(point.prefix(50))) }
        #expect(
            error?.code == .malformedResponse && error?.reason.hasPrefix("CKA_EC_POINT is neither an uncompressed point") == true,
            "\(String(describing: error))")
    }

    @Test("a PIN in SecretBytes never prints and compares in full")
    func secretBytes() {
        let pin = SecretBytes(utf8: "123456")
        #expect(!"\(pin)".contains("123456") && !String(reflecting: pin).contains("123456"))
        #expect(pin.withUnsafeBytes { Array($0) } == Array("123456".utf8))
        #expect(pin.isEqual(to: SecretBytes(utf8: "123456")))
        #expect(!pin.isEqual(to: SecretBytes(utf8: "123457")) && !pin.isEqual(to: SecretBytes(utf8: "12345")))
        #expect(SecretBytes([]).isEmpty)
    }
}
