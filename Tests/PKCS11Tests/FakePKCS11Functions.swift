import PKICore

@testable import PKCS11

/// A scripted stand-in for a PKCS#11 module (docs/conventions.md#c-behind-a-protocol): records every call and answers from
/// tables, so template, read-back and selection logic can be tested without a token.
final class FakePKCS11Functions: PKCS11Functions, @unchecked Sendable {
    var tokens: [UInt: RawTokenInfo] = [:]
    var mechanisms: [UInt: RawMechanismInfo] = [:]
    var loginResult: UInt = 0
    /// Attribute values reported for the generated private key (handle 2).
    var privateKeyAttributes: [UInt: [UInt8]] = [:]
    /// Objects returned by any C_FindObjects.
    var existingObjects: [UInt] = []
    /// Attribute values reported for other objects (e.g. a created data object, handle 3).
    var objectAttributes: [UInt: [UInt: [UInt8]]] = [:]
    private(set) var createdTemplates: [[Attribute]] = []

    private(set) var loginCalls = 0
    private(set) var generatedTemplates: (public: [Attribute], private: [Attribute])?
    private(set) var calls: [String] = []

    func slotList(tokenPresent: Bool) throws -> [UInt] { tokens.keys.sorted() }
    func tokenInfo(slot: UInt) throws -> RawTokenInfo {
        guard let info = tokens[slot] else { throw PKCS11Error(.functionFailed, "C_GetTokenInfo failed: CKR_SLOT_ID_INVALID") }
        return info
    }
    func mechanismList(slot: UInt) throws -> [UInt] { mechanisms.keys.sorted() }
    func mechanismInfo(slot: UInt, mechanism: UInt) throws -> RawMechanismInfo {
        mechanisms[mechanism] ?? RawMechanismInfo(minKeySize: 0, maxKeySize: 0, flags: 0)
    }
    func openSession(slot: UInt) throws -> UInt {
        calls.append("C_OpenSession")
        return 1
    }
    func closeSession(_ session: UInt) throws { calls.append("C_CloseSession") }
    func login(session: UInt, pin: SecretBytes) throws {
        loginCalls += 1
        calls.append("C_Login")
        try PKCS11Error.check(loginResult, "C_Login")
    }
    func logout(session: UInt) throws { calls.append("C_Logout") }
    func generateKeyPair(session: UInt, mechanism: UInt, publicTemplate: [Attribute], privateTemplate: [Attribute]) throws -> (
        publicKey: UInt, privateKey: UInt
    ) {
        calls.append("C_GenerateKeyPair")
        generatedTemplates = (publicTemplate, privateTemplate)
        return (1, 2)
    }
    func findObjects(session: UInt, template: [Attribute]) throws -> [UInt] {
        calls.append("C_FindObjects")
        return existingObjects
    }
    func attributes(session: UInt, object: UInt, types: [UInt]) throws -> [UInt: [UInt8]] {
        calls.append("C_GetAttributeValue")
        if let values = objectAttributes[object] { return values.filter { types.contains($0.key) } }
        return object == 2 ? privateKeyAttributes.filter { types.contains($0.key) } : [:]
    }
    func sign(session: UInt, mechanism: UInt, key: UInt, data: [UInt8]) throws -> [UInt8] {
        calls.append("C_Sign")
        return []
    }
    func createObject(session: UInt, template: [Attribute]) throws -> UInt {
        calls.append("C_CreateObject")
        createdTemplates.append(template)
        return 3
    }
    func setAttributes(session: UInt, object: UInt, template: [Attribute]) throws { calls.append("C_SetAttributeValue") }
    func destroyObject(session: UInt, object: UInt) throws { calls.append("C_DestroyObject") }

    static func token(label: String, serial: String) -> RawTokenInfo {
        RawTokenInfo(label: label, manufacturer: "Fake", model: "F1", serial: serial, flags: 0x404)
    }
}
