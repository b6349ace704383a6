import Crypto
import Foundation
import SwiftASN1
import X509

extension Certificate.PublicKey {
    /// The DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
    public var spkiDER: [UInt8] {
        var serializer = DER.Serializer()
        // Serialising an in-memory SPKI cannot fail: it is plain SEQUENCE/OID/BIT STRING.
        do { try serializer.serialize(self) } catch { return [] }
        return serializer.serializedBytes
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo: the value pinned by agents and shown in ceremonies.
    public var spkiSHA256: [UInt8] { Array(SHA256.hash(data: spkiDER)) }

    /// ``spkiSHA256`` as lowercase hex.
    public var spkiSHA256Hex: String { spkiSHA256.hexString }

    /// ``spkiSHA256`` in the `sha256/BASE64` pin form (RFC 7469 style) that `agent --pin` takes.
    public var spkiPin: String { "sha256/" + Data(spkiSHA256).base64EncodedString() }

    /// The supported algorithm of this key, or nil.
    public var keyAlgorithm: KeyAlgorithm? { KeyAlgorithm(publicKey: self) }

    /// Our own description of the key (type, size, exponent or curve).
    public var keyInfo: PublicKeyInfo? { try? PublicKeyInfo(spkiDER: spkiDER) }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hexadecimal.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
