import PKICore

/// The kinds of key pair Rootkeeper generates in a token (docs/profiles.md#key-algorithms): RSA-4096 or P-384 for a
/// root; RSA-2048/3072/4096 or P-256/P-384 for an intermediate.
public struct PKCS11KeySpec: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Hashable, Sendable {
        case rsa(bits: UInt)
        case ec(curve: Curve)
    }

    enum Curve: Hashable, Sendable {
        case p256, p384

        /// DER of the namedCurve OID, the value of CKA_EC_PARAMS (RFC 5480 §2.1.1.1).
        var parameters: [UInt8] {
            switch self {
            case .p256: [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]  // 1.2.840.10045.3.1.7
            case .p384: [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22]  // 1.3.132.0.34
            }
        }

        var coordinateSize: Int { self == .p256 ? 32 : 48 }
    }

    let kind: Kind

    public static let rsa2048 = PKCS11KeySpec(kind: .rsa(bits: 2048))
    public static let rsa3072 = PKCS11KeySpec(kind: .rsa(bits: 3072))
    public static let rsa4096 = PKCS11KeySpec(kind: .rsa(bits: 4096))
    public static let p256 = PKCS11KeySpec(kind: .ec(curve: .p256))
    public static let p384 = PKCS11KeySpec(kind: .ec(curve: .p384))

    public var description: String {
        switch kind {
        case .rsa(let bits): "RSA-\(bits)"
        case .ec(.p256): "P-256"
        case .ec(.p384): "P-384"
        }
    }

    var mechanism: UInt {
        switch kind {
        case .rsa: CKM.rsaPKCSKeyPairGen
        case .ec: CKM.ecKeyPairGen
        }
    }

    var keyType: UInt {
        switch kind {
        case .rsa: CKK.rsa
        case .ec: CKK.ec
        }
    }
}
