import X509

/// A key pair generated in a token, with the attribute read-back that proves how it was made.
public struct GeneratedKeyPair: Sendable {
    /// The public key, as it will appear in certificates.
    public let publicKey: Certificate.PublicKey
    /// What the private key reported after generation (all entries match, or generation threw).
    public let attributes: KeyAttributeReport
    /// A signer for the new private key.
    public let privateKey: PKCS11PrivateKey
}

extension PKCS11Session {
    /// Generates a key pair in the token with the explicit templates of docs/ceremony.md#key-generation-templates and checks the
    /// result.
    ///
    /// Refuses when any object already carries `label` or `id`. After C_GenerateKeyPair the private
    /// key's LOCAL, SENSITIVE, ALWAYS_SENSITIVE, EXTRACTABLE, NEVER_EXTRACTABLE, SIGN, DECRYPT,
    /// UNWRAP and DERIVE are read back; any difference throws `attributeMismatch` naming each
    /// differing attribute. The objects are then left in place (never destroyed silently) so the
    /// officers can inspect them.
    public func generateKeyPair(_ spec: PKCS11KeySpec, label: String, id: [UInt8]) throws -> GeneratedKeyPair {
        guard !label.isEmpty, !id.isEmpty else {
            throw PKCS11Error(.invalidParameter, "a key needs a non-empty label and ID")
        }
        return try perform {
            if !(try functions.findObjects(session: handle, template: [.bytes(CKA.label, Array(label.utf8))])).isEmpty {
                throw PKCS11Error.exists("the token already holds an object labelled \"\(label)\"; refusing to generate")
            }
            if !(try functions.findObjects(session: handle, template: [.bytes(CKA.id, id)])).isEmpty {
                throw PKCS11Error.exists("the token already holds an object with ID \(Self.hex(id)); refusing to generate")
            }
            let handles = try functions.generateKeyPair(
                session: handle, mechanism: spec.mechanism,
                publicTemplate: KeyPairTemplate.publicKey(spec, label: label, id: id),
                privateTemplate: KeyPairTemplate.privateKey(spec, label: label, id: id))
            let values = try functions.attributes(
                session: handle, object: handles.privateKey, types: KeyPairTemplate.expectedPrivateAttributes.map(\.type))
            let report = KeyAttributeReport.make(from: values)
            guard report.isAsExpected else {
                let differences = report.mismatches.map {
                    "\($0.attribute) is \($0.actual.map(String.init) ?? "unavailable"), expected \($0.expected)"
                }
                throw PKCS11Error.mismatch(
                    "the key \"\(label)\" was generated but its attributes differ from the template: "
                        + differences.joined(separator: "; ") + "; the key has been left on the token for inspection")
            }
            guard let (publicKey, curve) = try PublicKeyDecoder.read(object: handles.publicKey, session: handle, functions: functions) else {
                throw PKCS11Error.malformedResponse("the token did not return the new public key")
            }
            let key = PKCS11PrivateKey(session: self, handle: handles.privateKey, publicKey: publicKey, curve: curve, label: label)
            return GeneratedKeyPair(publicKey: publicKey, attributes: report, privateKey: key)
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
