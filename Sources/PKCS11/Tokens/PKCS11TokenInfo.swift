/// What a slot's token says about itself (CK_TOKEN_INFO) and which key sizes it can generate.
public struct PKCS11TokenInfo: Sendable, Hashable, CustomStringConvertible {
    /// The slot the token sits in right now. Not stable: SoftHSM renumbers slots after
    /// `--init-token`, so Rootkeeper selects tokens by label or serial, never by slot id.
    public let slot: UInt
    public let label: String
    public let serial: String
    public let manufacturer: String
    public let model: String
    /// Raw CK_TOKEN_INFO.flags; the Boolean properties below decode the ones that matter.
    public let flags: UInt
    /// Mechanism ids the token reports (C_GetMechanismList).
    public let mechanisms: [UInt]
    /// CKM_RSA_PKCS_KEY_PAIR_GEN is present and its key size range includes 4096 bits.
    public let supportsRSA4096Generation: Bool
    /// CKM_EC_KEY_PAIR_GEN is present and its key size range includes 384 bits.
    public let supportsP384Generation: Bool

    public var loginRequired: Bool { flags & CKF.loginRequired != 0 }
    public var tokenInitialized: Bool { flags & CKF.tokenInitialized != 0 }
    public var userPINInitialized: Bool { flags & CKF.userPINInitialized != 0 }
    public var userPINLocked: Bool { flags & CKF.userPINLocked != 0 }
    public var userPINCountLow: Bool { flags & CKF.userPINCountLow != 0 }
    public var userPINFinalTry: Bool { flags & CKF.userPINFinalTry != 0 }
    public var writeProtected: Bool { flags & CKF.writeProtected != 0 }
    public var protectedAuthenticationPath: Bool { flags & CKF.protectedAuthenticationPath != 0 }

    /// An RFC 7512 URI that identifies this token.
    public var uri: PKCS11URI {
        PKCS11URI(token: label, manufacturer: manufacturer, serial: serial, model: model)
    }

    public var description: String {
        "slot \(slot): \"\(label)\" serial \(serial) (\(manufacturer) \(model))"
    }

    /// Reads token info and mechanism capabilities of `slot` through `functions`.
    static func read(slot: UInt, from functions: any PKCS11Functions) throws -> PKCS11TokenInfo {
        let raw = try functions.tokenInfo(slot: slot)
        let mechanisms = try functions.mechanismList(slot: slot)
        func supports(_ mechanism: UInt, bits: UInt) throws -> Bool {
            guard mechanisms.contains(mechanism) else { return false }
            let info = try functions.mechanismInfo(slot: slot, mechanism: mechanism)
            return info.flags & CKF.generateKeyPair != 0 && info.minKeySize <= bits && bits <= info.maxKeySize
        }
        return PKCS11TokenInfo(
            slot: slot, label: raw.label, serial: raw.serial, manufacturer: raw.manufacturer, model: raw.model,
            flags: raw.flags, mechanisms: mechanisms,
            supportsRSA4096Generation: try supports(CKM.rsaPKCSKeyPairGen, bits: 4096),
            supportsP384Generation: try supports(CKM.ecKeyPairGen, bits: 384))
    }
}
