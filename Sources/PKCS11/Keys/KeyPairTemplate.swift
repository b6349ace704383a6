/// The explicit key-generation templates of docs/ceremony.md#key-generation-templates and the attributes read back afterwards.
///
/// Nothing is left to the token's defaults: a token that defaults CKA_EXTRACTABLE to true, or
/// CKA_DECRYPT to true on an RSA key, would otherwise give the root key abilities it must not have.
enum KeyPairTemplate {
    /// RFC 8017 public exponent 65537, big-endian as CKA_PUBLIC_EXPONENT expects.
    static let publicExponent: [UInt8] = [0x01, 0x00, 0x01]

    static func publicKey(_ spec: PKCS11KeySpec, label: String, id: [UInt8]) -> [Attribute] {
        var template: [Attribute] = [
            .ulong(CKA.class, CKO.publicKey), .ulong(CKA.keyType, spec.keyType),
            .bool(CKA.token, true), .bool(CKA.private, false), .bool(CKA.verify, true),
            .bool(CKA.encrypt, false), .bool(CKA.wrap, false),
            .bytes(CKA.label, Array(label.utf8)), .bytes(CKA.id, id),
        ]
        switch spec.kind {
        case .rsa(let bits):
            template.append(.ulong(CKA.modulusBits, bits))
            template.append(.bytes(CKA.publicExponent, publicExponent))
        case .ec(let curve):
            template.append(.bytes(CKA.ecParams, curve.parameters))
        }
        return template
    }

    static func privateKey(_ spec: PKCS11KeySpec, label: String, id: [UInt8]) -> [Attribute] {
        [
            .ulong(CKA.class, CKO.privateKey), .ulong(CKA.keyType, spec.keyType),
            .bool(CKA.token, true), .bool(CKA.private, true), .bool(CKA.sensitive, true), .bool(CKA.sign, true),
            .bool(CKA.extractable, false), .bool(CKA.decrypt, false), .bool(CKA.unwrap, false),
            .bool(CKA.derive, false),
            .bytes(CKA.label, Array(label.utf8)), .bytes(CKA.id, id),
        ]
    }

    /// What the private key must report after generation. LOCAL, ALWAYS_SENSITIVE and
    /// NEVER_EXTRACTABLE prove the key was born in the token and never left it (PKCS#11 v2.40 §4.4).
    static let expectedPrivateAttributes: [(type: UInt, value: Bool)] = [
        (CKA.token, true), (CKA.private, true), (CKA.local, true), (CKA.sensitive, true),
        (CKA.alwaysSensitive, true), (CKA.extractable, false), (CKA.neverExtractable, true),
        (CKA.sign, true), (CKA.decrypt, false), (CKA.unwrap, false), (CKA.derive, false),
    ]
}
