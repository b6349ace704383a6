import Crypto
import Foundation
import PKICore
import SwiftASN1
import TestSupport
import Testing
import X509

@testable import PKCS11

/// Against the real SoftHSM2 module. Each test takes the process-wide SoftHSM lock (see
/// `SoftHSMToken.withExclusiveToken`) and releases every module reference before returning.
@Suite("PKCS#11 against SoftHSM2", .serialized)
struct SoftHSMIntegrationTests {
    static let module = SoftHSMToken.modulePath

    static func pkcs11Tool(_ token: SoftHSMToken, _ arguments: [String]) throws -> ExternalTool.Result {
        try ExternalTool("pkcs11-tool").run(["--module", module, "--token-label", token.label] + arguments, environment: token.environment)
    }

    @Test(
        "generated root keys are sensitive, never extractable, local, and sign certificates openssl accepts",
        arguments: [PKCS11KeySpec.rsa4096, .p384])
    func generateAndSign(spec: PKCS11KeySpec) async throws {
        try await SoftHSMToken.withExclusiveToken(label: "root-ca") { token in
            let module = try PKCS11Module(path: Self.module)
            let info = try module.token(.label("root-ca"))
            #expect(info.serial == token.serial && info.tokenInitialized && info.loginRequired)
            #expect(info.supportsRSA4096Generation && info.supportsP384Generation)

            let session = try module.openSession(.label("root-ca"), pin: SecretBytes(utf8: token.userPIN))
            let pair = try session.generateKeyPair(spec, label: "root-key", id: [0x01])
            #expect(pair.attributes.isAsExpected)
            #expect(pair.attributes.value(of: "CKA_NEVER_EXTRACTABLE") == true)
            #expect(pair.attributes.value(of: "CKA_LOCAL") == true)
            #expect(pair.attributes.value(of: "CKA_EXTRACTABLE") == false)

            // pkcs11-tool (OpenSC), an independent reader of the token, agrees.
            let listing = try Self.pkcs11Tool(token, ["--login", "--pin", token.userPIN, "--list-objects"])
            #expect(listing.succeeded, "\(listing.output)")
            // The private key's lines: from its header up to the next object (pkcs11-tool 0.23 format).
            let privateBlock =
                (listing.stdout.components(separatedBy: "Private Key Object").dropFirst().first ?? "")
                .components(separatedBy: "Public Key Object").first ?? ""
            #expect(privateBlock.contains("Access:     sensitive, always sensitive, never extractable, local"), "\(listing.stdout)")
            #expect(privateBlock.contains("Usage:      sign"), "\(listing.stdout)")
            #expect(!privateBlock.contains("decrypt") && !privateBlock.contains("unwrap") && !privateBlock.contains("derive"))
            // An independent PKCS#11 caller with the user PIN asks for the secret component and the
            // token refuses it as sensitive, while the same call reads an extractable control key.
            let secret: UInt = spec == .p384 ? 0x11 : 0x123  // CKA_VALUE / CKA_PRIVATE_EXPONENT
            let reading = try IndependentAttributeReader.read(attribute: secret, ofPrivateKey: "root-key", on: token, module: Self.module)
            #expect(reading.key == IndependentAttributeReader.ckrAttributeSensitive, "the private key must not be readable: \(reading.key)")
            #expect(
                reading.control == IndependentAttributeReader.ckrOK + " " + IndependentAttributeReader.controlValueHex,
                "the reader could not read an extractable key either, so its refusal proves nothing: \(reading.control)")
            // And the token itself refuses the secret components (CKR_ATTRIBUTE_SENSITIVE).
            let secretAttributes: [UInt] = [0x11, 0x123, 0x124, 0x125]  // CKA_VALUE, _PRIVATE_EXPONENT, _PRIME_1, _PRIME_2
            let revealed = try module.functions.attributes(
                session: session.handle, object: pair.privateKey.handle, types: secretAttributes)
            #expect(revealed.isEmpty, "the token revealed \(revealed.keys)")

            // A self-signed certificate, signed synchronously and asynchronously, verifies with openssl.
            let name = try DistinguishedName {
                CommonName("Test Root CA")
                OrganizationName("Rootkeeper")
            }
            let now = Date()
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: pair.publicKey)
            }
            let issuer = Certificate.PrivateKey(pair.privateKey)
            let syncCert = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: pair.publicKey, notValidBefore: now - 60,
                notValidAfter: now + 3600, issuer: name, subject: name, signatureAlgorithm: pair.privateKey.defaultSignatureAlgorithm,
                extensions: extensions, issuerPrivateKey: issuer)
            let asyncCert = try await Certificate(
                version: .v3, serialNumber: .init(), publicKey: pair.publicKey, notValidBefore: now - 60,
                notValidAfter: now + 3600, issuer: name, subject: name, signatureAlgorithm: pair.privateKey.defaultSignatureAlgorithm,
                extensions: extensions, issuerAsyncPrivateKey: issuer)
            for certificate in [syncCert, asyncCert] {
                let path = token.directory.file("root-\(UUID().uuidString).pem")
                try certificate.serializeAsPEM().pemString.write(toFile: path, atomically: true, encoding: .utf8)
                let verify = try ExternalTool("openssl").run(["verify", "-x509_strict", "-CAfile", path, path])
                #expect(verify.succeeded && verify.stdout.contains("\(path): OK"), "\(verify.output)")
            }
            let expectedAlgorithm: Certificate.SignatureAlgorithm = spec == .rsa4096 ? .sha256WithRSAEncryption : .ecdsaWithSHA384
            #expect(syncCert.signatureAlgorithm == expectedAlgorithm)

            // Other digests the key claims to support also verify.
            let message = Array("ceremony transcript head".utf8)
            for algorithm in pair.privateKey.supportedSignatureAlgorithms {
                let signature = try await pair.privateKey.signAsynchronously(bytes: message, signatureAlgorithm: algorithm)
                #expect(pair.publicKey.isValidSignature(signature.rawRepresentation, for: message, signatureAlgorithm: algorithm), "\(algorithm)")
            }
            let export = #expect(throws: PKCS11Error.self) { try pair.privateKey.serializeAsPEM() }
            #expect(export?.code == .notExportable)
        }
    }

    @Test("a wrong PIN fails with CKR_PIN_INCORRECT and the message does not contain the PIN")
    func wrongPIN() async throws {
        try await SoftHSMToken.withExclusiveToken { token in
            let module = try PKCS11Module(path: Self.module)
            let error = #expect(throws: PKCS11Error.self) {
                try module.openSession(.label(token.label), pin: SecretBytes(utf8: "987654"))
            }
            #expect(error?.description.contains("C_Login failed: CKR_PIN_INCORRECT") == true)
            #expect(error?.returnValueName == "CKR_PIN_INCORRECT")
            #expect(error?.description.contains("987654") == false)
        }
    }

    @Test("a missing token label is 'not found' and names the tokens that are present")
    func missingToken() async throws {
        try await SoftHSMToken.withExclusiveToken(label: "present-token") { token in
            let module = try PKCS11Module(path: Self.module)
            let error = #expect(throws: PKCS11Error.self) { try module.token(.label("absent-token")) }
            #expect(error?.code == .tokenNotFound)
            #expect(error?.reason.contains("present-token") == true)
            #expect(try module.token(.serial(token.serial)).label == "present-token")
            #expect(
                try module.token(.uri(PKCS11URI(parsing: "pkcs11:token=present-token;serial=\(token.serial)"))).slot
                    == (try module.token(.label("present-token")).slot))
        }
    }

    @Test("a second key with the same label or ID is refused and the first key is untouched")
    func duplicateLabel() async throws {
        try await SoftHSMToken.withExclusiveToken { token in
            let module = try PKCS11Module(path: Self.module)
            let session = try module.openSession(.label(token.label), pin: SecretBytes(utf8: token.userPIN))
            let first = try session.generateKeyPair(.p256, label: "intermediate", id: [0x0A])
            let byLabel = #expect(throws: PKCS11Error.self) { try session.generateKeyPair(.p256, label: "intermediate", id: [0x0B]) }
            #expect(byLabel?.code == .objectExists && byLabel?.reason.contains("intermediate") == true)
            let byID = #expect(throws: PKCS11Error.self) { try session.generateKeyPair(.p256, label: "other", id: [0x0A]) }
            #expect(byID?.code == .objectExists && byID?.reason.contains("0a") == true)
            let spki = first.publicKey.spkiSHA256
            #expect(try session.privateKey(spkiSHA256: spki).publicKey == first.publicKey)
        }
    }

    @Test("the private key is found by its public key's SPKI SHA-256, and a foreign SPKI is refused")
    func findBySPKI() async throws {
        try await SoftHSMToken.withExclusiveToken { token in
            let module = try PKCS11Module(path: Self.module)
            let session = try module.openSession(.label(token.label), pin: SecretBytes(utf8: token.userPIN))
            let a = try session.generateKeyPair(.p256, label: "key-a", id: [1])
            let b = try session.generateKeyPair(.rsa2048, label: "key-b", id: [2])
            for pair in [a, b] {
                let spki = pair.publicKey.spkiSHA256
                let found = try session.privateKey(spkiSHA256: spki)
                #expect(found.publicKey == pair.publicKey && found.label == pair.privateKey.label)
                // The found key signs in a way the public key accepts.
                let message = Array("pinned".utf8)
                let signature = try found.signSynchronously(bytes: message, signatureAlgorithm: found.defaultSignatureAlgorithm)
                #expect(
                    pair.publicKey.isValidSignature(signature.rawRepresentation, for: message, signatureAlgorithm: found.defaultSignatureAlgorithm))
            }
            let foreign = Certificate.PublicKey(P256.Signing.PrivateKey().publicKey)
            let error = #expect(throws: PKCS11Error.self) {
                try session.privateKey(spkiSHA256: foreign.spkiSHA256)
            }
            #expect(error?.code == .keyNotFound && error?.reason.contains("the token holds another key") == true)
        }
    }
}
