/// The PKCS#11 constants the wrapper uses (PKCS#11 v2.40 pkcs11t.h), as plain Swift values so the
/// wrapper logic and its fakes do not depend on the C module.
enum CKA {
    static let `class`: UInt = 0x0, token: UInt = 0x1, `private`: UInt = 0x2, label: UInt = 0x3
    static let application: UInt = 0x10, value: UInt = 0x11, modifiable: UInt = 0x170
    static let keyType: UInt = 0x100, id: UInt = 0x102, sensitive: UInt = 0x103
    static let encrypt: UInt = 0x104, decrypt: UInt = 0x105, wrap: UInt = 0x106, unwrap: UInt = 0x107
    static let sign: UInt = 0x108, verify: UInt = 0x10A, derive: UInt = 0x10C
    static let modulus: UInt = 0x120, modulusBits: UInt = 0x121, publicExponent: UInt = 0x122
    static let extractable: UInt = 0x162, local: UInt = 0x163
    static let neverExtractable: UInt = 0x164, alwaysSensitive: UInt = 0x165
    static let ecParams: UInt = 0x180, ecPoint: UInt = 0x181

    static let names: [UInt: String] = [
        token: "CKA_TOKEN", `private`: "CKA_PRIVATE", sensitive: "CKA_SENSITIVE", encrypt: "CKA_ENCRYPT",
        decrypt: "CKA_DECRYPT", wrap: "CKA_WRAP", unwrap: "CKA_UNWRAP", sign: "CKA_SIGN", verify: "CKA_VERIFY",
        derive: "CKA_DERIVE", extractable: "CKA_EXTRACTABLE", local: "CKA_LOCAL",
        neverExtractable: "CKA_NEVER_EXTRACTABLE", alwaysSensitive: "CKA_ALWAYS_SENSITIVE",
    ]
}

enum CKO {
    static let data: UInt = 0, publicKey: UInt = 2, privateKey: UInt = 3
}

enum CKK {
    static let rsa: UInt = 0, ec: UInt = 3
}

enum CKM {
    static let rsaPKCSKeyPairGen: UInt = 0x0, rsaPKCS: UInt = 0x1
    static let sha256RSAPKCS: UInt = 0x40, sha384RSAPKCS: UInt = 0x41, sha512RSAPKCS: UInt = 0x42
    static let ecKeyPairGen: UInt = 0x1040, ecdsa: UInt = 0x1041
}

/// Token and mechanism flags (CK_TOKEN_INFO.flags, CK_MECHANISM_INFO.flags).
enum CKF {
    static let loginRequired: UInt = 0x4, userPINInitialized: UInt = 0x8
    static let protectedAuthenticationPath: UInt = 0x100, tokenInitialized: UInt = 0x400
    static let userPINCountLow: UInt = 0x10000, userPINFinalTry: UInt = 0x20000
    static let userPINLocked: UInt = 0x40000, userPINToBeChanged: UInt = 0x80000
    static let writeProtected: UInt = 0x2
    static let sign: UInt = 0x800, generateKeyPair: UInt = 0x10000
}
