import PKICore
import Testing

@testable import PKCS11

@Suite("PKCS#11 wrapper logic (fake module)")
struct PKCS11WrapperTests {
    /// Attribute values a correctly generated key reports.
    static let goodAttributes: [UInt: [UInt8]] = [
        CKA.token: [1], CKA.private: [1], CKA.local: [1], CKA.sensitive: [1], CKA.alwaysSensitive: [1],
        CKA.extractable: [0], CKA.neverExtractable: [1], CKA.sign: [1], CKA.decrypt: [0], CKA.unwrap: [0], CKA.derive: [0],
    ]

    func session(_ fake: FakePKCS11Functions) throws -> PKCS11Session {
        fake.tokens = [7: FakePKCS11Functions.token(label: "root", serial: "S1")]
        let module = PKCS11Module(functions: fake, path: "fake")
        return try module.openSession(.label("root"), pin: SecretBytes(utf8: "1234"))
    }

    @Test("the private key template pins every attribute of docs/ceremony.md#key-generation-templates instead of trusting token defaults")
    func privateTemplate() throws {
        let template = KeyPairTemplate.privateKey(.p384, label: "root", id: [1])
        func value(_ type: UInt) -> [UInt8]? { template.first { $0.type == type }?.value }
        #expect(value(CKA.token) == [1] && value(CKA.private) == [1] && value(CKA.sensitive) == [1] && value(CKA.sign) == [1])
        #expect(value(CKA.extractable) == [0] && value(CKA.decrypt) == [0] && value(CKA.unwrap) == [0] && value(CKA.derive) == [0])
        #expect(value(CKA.label) == Array("root".utf8) && value(CKA.id) == [1])
        let publicTemplate = KeyPairTemplate.publicKey(.rsa4096, label: "root", id: [1])
        func publicValue(_ type: UInt) -> [UInt8]? { publicTemplate.first { $0.type == type }?.value }
        #expect(publicValue(CKA.verify) == [1] && publicValue(CKA.token) == [1])
        #expect(publicValue(CKA.encrypt) == [0] && publicValue(CKA.wrap) == [0])
        #expect(publicValue(CKA.publicExponent) == [1, 0, 1])
        #expect(publicValue(CKA.modulusBits) == withUnsafeBytes(of: UInt(4096)) { Array($0) })
        #expect(
            KeyPairTemplate.publicKey(.p384, label: "r", id: [1]).first { $0.type == CKA.ecParams }?.value
                == [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22])
    }

    @Test("the data object template pins class, token, private and modifiable; a token that makes it public is refused")
    func dataObjectTemplate() throws {
        let fake = FakePKCS11Functions()
        fake.objectAttributes[3] = [CKA.token: [1], CKA.private: [0], CKA.modifiable: [1]]
        let session = try session(fake)
        let error = #expect(throws: PKCS11Error.self) { try session.createDataObject(label: "anchor", application: "app", value: [1, 2]) }
        #expect(error?.code == .attributeMismatch && error?.reason.contains("CKA_PRIVATE") == true, "\(String(describing: error))")
        let template = try #require(fake.createdTemplates.first)
        func value(_ type: UInt) -> [UInt8]? { template.first { $0.type == type }?.value }
        #expect(value(CKA.class) == withUnsafeBytes(of: UInt(0)) { Array($0) })  // CKO_DATA
        #expect(value(CKA.token) == [1] && value(CKA.private) == [1] && value(CKA.modifiable) == [1])
        #expect(value(CKA.label) == Array("anchor".utf8) && value(CKA.application) == Array("app".utf8) && value(CKA.value) == [1, 2])
        // Lookups ask for private token objects only.
        let find = DataObjectTemplate.find(label: "anchor")
        #expect(find.contains(.bool(CKA.private, true)) && find.contains(.bool(CKA.token, true)))
    }

    @Test("a generated key that reports EXTRACTABLE fails closed, names the attribute and destroys nothing")
    func readBackMismatch() throws {
        let fake = FakePKCS11Functions()
        var attributes = Self.goodAttributes
        attributes[CKA.extractable] = [1]
        attributes[CKA.neverExtractable] = [0]
        fake.privateKeyAttributes = attributes
        let session = try session(fake)
        let error = #expect(throws: PKCS11Error.self) { try session.generateKeyPair(.p384, label: "root", id: [1]) }
        #expect(error?.code == .attributeMismatch)
        #expect(error?.reason.contains("CKA_EXTRACTABLE is true, expected false") == true)
        #expect(error?.reason.contains("CKA_NEVER_EXTRACTABLE is false, expected true") == true)
        #expect(fake.calls.contains("C_GenerateKeyPair"))
        #expect(!fake.calls.contains("C_DestroyObject"))
    }

    @Test("an attribute the token will not reveal counts as a mismatch")
    func unavailableAttribute() throws {
        let fake = FakePKCS11Functions()
        fake.privateKeyAttributes = Self.goodAttributes.filter { $0.key != CKA.local }
        let error = #expect(throws: PKCS11Error.self) { try session(fake).generateKeyPair(.rsa4096, label: "root", id: [1]) }
        #expect(error?.reason.contains("CKA_LOCAL is unavailable") == true)
    }

    @Test("generation is refused before C_GenerateKeyPair when the label or ID is taken")
    func refusesExisting() throws {
        let fake = FakePKCS11Functions()
        fake.existingObjects = [9]
        let error = #expect(throws: PKCS11Error.self) { try session(fake).generateKeyPair(.p256, label: "root", id: [1]) }
        #expect(error?.code == .objectExists)
        #expect(!fake.calls.contains("C_GenerateKeyPair"))
    }

    @Test("a wrong PIN is reported as CKR_PIN_INCORRECT and C_Login is called exactly once")
    func wrongPINNotRetried() throws {
        let fake = FakePKCS11Functions()
        fake.loginResult = 0xA0
        let error = #expect(throws: PKCS11Error.self) { try session(fake) }
        #expect(error?.description.contains("C_Login failed: CKR_PIN_INCORRECT") == true)
        #expect(error?.function == "C_Login" && error?.returnValueName == "CKR_PIN_INCORRECT")
        #expect(fake.loginCalls == 1)
    }

    @Test("token listing decodes flags and whether RSA-4096 and P-384 generation are supported")
    func tokenCapabilities() throws {
        let fake = FakePKCS11Functions()
        fake.tokens = [3: RawTokenInfo(label: "t", manufacturer: "m", model: "x", serial: "s", flags: 0x404 | 0x40000 | 0x10000)]
        fake.mechanisms = [
            CKM.rsaPKCSKeyPairGen: RawMechanismInfo(minKeySize: 1024, maxKeySize: 2048, flags: 0x10000),
            CKM.ecKeyPairGen: RawMechanismInfo(minKeySize: 256, maxKeySize: 521, flags: 0x10000),
        ]
        let token = try #require(try PKCS11Module(functions: fake, path: "fake").tokens().first)
        #expect(token.loginRequired && token.tokenInitialized && token.userPINLocked && token.userPINCountLow)
        #expect(!token.supportsRSA4096Generation)
        #expect(token.supportsP384Generation)
    }

    @Test("unknown return codes still produce a readable name")
    func returnCodeNames() {
        #expect(CKR.name(of: 0xA4) == "CKR_PIN_LOCKED")
        #expect(CKR.name(of: 0x8000_0001) == "CKR_0x80000001")
        #expect(throws: Never.self) { try PKCS11Error.check(0, "C_Sign") }
    }
}
