import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// Writes a PKCS#12 file (RFC 7292) holding one private key and its certificate chain, for
/// importing an administrator certificate into a browser (docs/console.md#administrator-certificates).
///
/// The form is the one OpenSSL 3 writes by default and browsers (NSS, BoringSSL) read: the key in
/// a `pkcs8ShroudedKeyBag` encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC; RFC 7292 §4.2.2,
/// RFC 8018), the certificates in plain `certBag`s, and the whole authenticated with an
/// HMAC-SHA256 whose key comes from the PKCS#12 KDF (RFC 7292 Appendix B.2, ID 3) over the
/// password as a BMPString. The password is ASCII (the caller generates it), so PBKDF2 over its
/// bytes and the BMPString form agree on every reader.
public enum PKCS12Archive {
    static let data: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 1]
    static let shroudedKeyBag: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 12, 10, 1, 2]
    static let certBag: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 12, 10, 1, 3]
    static let x509Certificate: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 22, 1]
    static let localKeyID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 21]
    static let friendlyName: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 20]
    static let sha256: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 1]
    static let iterations = 10_000

    /// The DER of a PFX with `key`, `certificates` (leaf first) and `friendlyName` on the leaf.
    public static func encode(
        key: Certificate.PrivateKey, certificates: [Certificate], friendlyName name: String, password: String, random: any RandomSource
    ) throws -> [UInt8] {
        guard !password.isEmpty, password.allSatisfy({ $0.isASCII && !$0.isNewline }) else {
            throw PKIError.invalidParameter("the PKCS#12 password must be non-empty printable ASCII")
        }
        guard let leaf = certificates.first else { throw PKIError.invalidParameter("a PKCS#12 file needs the certificate") }
        let keyID = Array(SHA256.hash(data: leaf.publicKey.subjectPublicKeyInfoBytes))
        let passwordBytes = Array(password.utf8)

        // The shrouded key: PBES2 EncryptedPrivateKeyInfo (the same structure as an encrypted PKCS#8 file).
        let parameters = PBES2Parameters(kdf: .pbkdf2SHA256(salt: random.bytes(16), iterations: iterations), iv: random.bytes(16))
        let symmetricKey = try EncryptedPrivateKey.deriveKey(parameters.kdf, passphrase: passwordBytes)
        let ciphertext = try AES._CBC.encrypt(
            try EncryptedPrivateKey.pkcs8DER(key), using: symmetricKey, iv: AES._CBC.IV(ivBytes: parameters.iv))

        var keySafe = DER.Serializer()
        try keySafe.appendConstructedNode(identifier: .sequence) { contents in
            try contents.appendConstructedNode(identifier: .sequence) { bag in
                try bag.serialize(shroudedKeyBag)
                try bag.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { value in
                    try value.appendConstructedNode(identifier: .sequence) { info in
                        try parameters.serialize(into: &info)
                        try info.serialize(ASN1OctetString(contentBytes: Array(ciphertext)[...]))
                    }
                }
                try attributes(into: &bag, keyID: keyID, name: name)
            }
        }
        var certificateSafe = DER.Serializer()
        try certificateSafe.appendConstructedNode(identifier: .sequence) { contents in
            for (index, certificate) in certificates.enumerated() {
                try contents.appendConstructedNode(identifier: .sequence) { bag in
                    try bag.serialize(certBag)
                    try bag.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { value in
                        try value.appendConstructedNode(identifier: .sequence) { certificateBag in
                            try certificateBag.serialize(x509Certificate)
                            try certificateBag.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) {
                                explicit in
                                try explicit.serialize(ASN1OctetString(contentBytes: try PEMCodec.der(certificate)[...]))
                            }
                        }
                    }
                    if index == 0 { try attributes(into: &bag, keyID: keyID, name: name) }
                }
            }
        }
        var authenticatedSafe = DER.Serializer()
        try authenticatedSafe.appendConstructedNode(identifier: .sequence) { safe in
            try dataContentInfo(certificateSafe.serializedBytes, into: &safe)
            try dataContentInfo(keySafe.serializedBytes, into: &safe)
        }
        let content = authenticatedSafe.serializedBytes

        let macSalt = random.bytes(16)
        let macKey = pkcs12KDF(password: password, salt: macSalt, id: 3, iterations: iterations, length: 32)
        let mac = Array(HMAC<SHA256>.authenticationCode(for: content, using: SymmetricKey(data: macKey)))

        var pfx = DER.Serializer()
        try pfx.appendConstructedNode(identifier: .sequence) { root in
            try root.serialize(3)
            try dataContentInfo(content, into: &root)
            try root.appendConstructedNode(identifier: .sequence) { macData in
                try macData.appendConstructedNode(identifier: .sequence) { digestInfo in
                    try digestInfo.appendConstructedNode(identifier: .sequence) { algorithm in
                        try algorithm.serialize(sha256)
                        try algorithm.serialize(ASN1Null())
                    }
                    try digestInfo.serialize(ASN1OctetString(contentBytes: mac[...]))
                }
                try macData.serialize(ASN1OctetString(contentBytes: macSalt[...]))
                try macData.serialize(iterations)
            }
        }
        return pfx.serializedBytes
    }

    /// `ContentInfo { contentType data, content [0] EXPLICIT OCTET STRING }` (RFC 5652 §3).
    static func dataContentInfo(_ bytes: [UInt8], into coder: inout DER.Serializer) throws {
        try coder.appendConstructedNode(identifier: .sequence) { info in
            try info.serialize(data)
            try info.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { explicit in
                try explicit.serialize(ASN1OctetString(contentBytes: bytes[...]))
            }
        }
    }

    /// `bagAttributes SET OF PKCS12Attribute`: localKeyId (ties key and certificate) and friendlyName
    /// (the name a browser shows).
    static func attributes(into bag: inout DER.Serializer, keyID: [UInt8], name: String) throws {
        var localKey = DER.Serializer()
        try localKey.appendConstructedNode(identifier: .sequence) { attribute in
            try attribute.serialize(localKeyID)
            try attribute.appendConstructedNode(identifier: .set) { values in
                try values.serialize(ASN1OctetString(contentBytes: keyID[...]))
            }
        }
        var friendly = DER.Serializer()
        try friendly.appendConstructedNode(identifier: .sequence) { attribute in
            try attribute.serialize(friendlyName)
            try attribute.appendConstructedNode(identifier: .set) { values in
                try values.serialize(ASN1BMPString(contentBytes: bmpBytes(name, terminated: false)[...]))
            }
        }
        // DER orders SET OF by encoding (X.690 §11.6).
        let items = [localKey.serializedBytes, friendly.serializedBytes].sorted { $0.lexicographicallyPrecedes($1) }
        try bag.appendConstructedNode(identifier: .set) { set in
            for item in items { set.serializeRawBytes(item) }
        }
    }

    /// UTF-16 big-endian, optionally with the two zero octets RFC 7292 Appendix B.1 adds to passwords.
    static func bmpBytes(_ text: String, terminated: Bool) -> [UInt8] {
        var bytes: [UInt8] = []
        for unit in text.utf16 { bytes += [UInt8(unit >> 8), UInt8(unit & 0xff)] }
        return terminated ? bytes + [0, 0] : bytes
    }

    /// RFC 7292 Appendix B.2 with SHA-256 (u = 32, v = 64) over the password as a BMPString with
    /// its two-zero-octet terminator.
    static func pkcs12KDF(password: String, salt: [UInt8], id: UInt8, iterations: Int, length: Int) -> [UInt8] {
        let v = 64  // SHA-256 block size; u (its output size) is 32
        let bmp = bmpBytes(password, terminated: true)
        func fill(_ input: [UInt8]) -> [UInt8] {
            guard !input.isEmpty else { return [] }
            let count = v * ((input.count + v - 1) / v)
            return (0..<count).map { input[$0 % input.count] }
        }
        let diversifier = [UInt8](repeating: id, count: v)
        var i = fill(salt) + fill(bmp)
        var output: [UInt8] = []
        while output.count < length {
            var a = Array(SHA256.hash(data: diversifier + i))
            for _ in 1..<iterations { a = Array(SHA256.hash(data: a)) }
            output += a.prefix(length - output.count)
            guard output.count < length else { break }
            let b = fill(a).prefix(v)
            // I_j = (I_j + B + 1) mod 2^(8v) for every v-octet block of I.
            for block in stride(from: 0, to: i.count, by: v) {
                var carry = 1
                for k in stride(from: v - 1, through: 0, by: -1) {
                    let sum = Int(i[block + k]) + Int(b[b.startIndex + k]) + carry
                    i[block + k] = UInt8(sum & 0xff)
                    carry = sum >> 8
                }
            }
        }
        return output
    }
}
