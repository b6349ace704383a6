import Crypto
import PKICore
import X509

extension PKCS11Session {
    /// Finds the private key whose public key has the SubjectPublicKeyInfo SHA-256 `spkiSHA256`
    /// (the pin recorded at the root ceremony).
    ///
    /// Every public key object is read and its SPKI recomputed; the private key with the same
    /// CKA_ID is returned. Throws `keyNotFound` ("the token holds another key") when no public key
    /// matches, or when the matching public key has no private key.
    public func privateKey(spkiSHA256: [UInt8]) throws -> PKCS11PrivateKey {
        try perform {
            let publicKeys = try functions.findObjects(session: handle, template: [.ulong(CKA.class, CKO.publicKey)])
            var seen: [String] = []
            for object in publicKeys {
                guard let (publicKey, curve) = try PublicKeyDecoder.read(object: object, session: handle, functions: functions) else { continue }
                // The pin is over the whole DER SubjectPublicKeyInfo (algorithm + key), as PKICore computes it.
                let digest = publicKey.spkiSHA256
                seen.append(Self.hex(digest))
                guard digest == spkiSHA256 else { continue }
                let labels = try functions.attributes(session: handle, object: object, types: [CKA.id, CKA.label])
                guard let id = labels[CKA.id], !id.isEmpty else {
                    throw PKCS11Error.keyNotFound("the matching public key has no CKA_ID, so its private key cannot be found")
                }
                let privateKeys = try functions.findObjects(
                    session: handle, template: [.ulong(CKA.class, CKO.privateKey), .bytes(CKA.id, id)])
                guard privateKeys.count == 1 else {
                    throw PKCS11Error.keyNotFound(
                        "\(privateKeys.count) private keys carry ID \(Self.hex(id)) of the matching public key; expected exactly one")
                }
                let label = labels[CKA.label].map { String(decoding: $0, as: UTF8.self) } ?? ""
                return PKCS11PrivateKey(session: self, handle: privateKeys[0], publicKey: publicKey, curve: curve, label: label)
            }
            throw PKCS11Error.keyNotFound(
                "the token holds another key: no public key has SPKI SHA-256 \(Self.hex(spkiSHA256))"
                    + (seen.isEmpty ? " (the token holds no public keys)" : " (present: \(seen.joined(separator: ", ")))"))
        }
    }
}
