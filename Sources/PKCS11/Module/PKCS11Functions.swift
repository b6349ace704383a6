import PKICore

/// One attribute of a PKCS#11 template (CK_ATTRIBUTE), in Swift terms.
struct Attribute: Equatable, Sendable {
    var type: UInt
    var value: [UInt8]

    static func bool(_ type: UInt, _ value: Bool) -> Attribute { Attribute(type: type, value: [value ? 1 : 0]) }
    /// A CK_ULONG in the platform's native layout, as the C API expects.
    static func ulong(_ type: UInt, _ value: UInt) -> Attribute {
        Attribute(type: type, value: withUnsafeBytes(of: value) { Array($0) })
    }
    static func bytes(_ type: UInt, _ value: [UInt8]) -> Attribute { Attribute(type: type, value: value) }
}

/// The raw fields of CK_TOKEN_INFO that Rootkeeper reads.
struct RawTokenInfo: Sendable {
    var label: String
    var manufacturer: String
    var model: String
    var serial: String
    var flags: UInt
}

/// CK_MECHANISM_INFO.
struct RawMechanismInfo: Sendable, Equatable {
    var minKeySize: UInt
    var maxKeySize: UInt
    var flags: UInt
}

/// Exactly the PKCS#11 calls the wrapper makes, in Swift types (docs/conventions.md#c-behind-a-protocol, after boulder's
/// `PKCtx`): the real implementation is ``CModuleFunctions``; unit tests substitute a fake so the
/// template, read-back and selection logic can be tested without a token.
///
/// Every method throws ``PKCS11Error`` naming the C function on a CK_RV other than CKR_OK.
protocol PKCS11Functions: AnyObject, Sendable {
    func slotList(tokenPresent: Bool) throws -> [UInt]
    func tokenInfo(slot: UInt) throws -> RawTokenInfo
    func mechanismList(slot: UInt) throws -> [UInt]
    func mechanismInfo(slot: UInt, mechanism: UInt) throws -> RawMechanismInfo
    func openSession(slot: UInt) throws -> UInt
    func closeSession(_ session: UInt) throws
    /// C_Login as CKU_USER. Implementations must not retry on failure.
    func login(session: UInt, pin: SecretBytes) throws
    func logout(session: UInt) throws
    func generateKeyPair(
        session: UInt, mechanism: UInt, publicTemplate: [Attribute], privateTemplate: [Attribute]
    ) throws -> (publicKey: UInt, privateKey: UInt)
    func findObjects(session: UInt, template: [Attribute]) throws -> [UInt]
    /// Reads `types`; an attribute the token will not reveal (sensitive or invalid) maps to nil.
    func attributes(session: UInt, object: UInt, types: [UInt]) throws -> [UInt: [UInt8]]
    func sign(session: UInt, mechanism: UInt, key: UInt, data: [UInt8]) throws -> [UInt8]
    /// C_CreateObject; returns the new object's handle.
    func createObject(session: UInt, template: [Attribute]) throws -> UInt
    /// C_SetAttributeValue on one object.
    func setAttributes(session: UInt, object: UInt, template: [Attribute]) throws
    /// C_DestroyObject.
    func destroyObject(session: UInt, object: UInt) throws
}
