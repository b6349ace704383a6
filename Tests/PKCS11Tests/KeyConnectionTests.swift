import Foundation
import PKCS11
import PKICore
import TestSupport
import Testing
import X509

/// `PKCS11KeyConnection` against SoftHSM behind ``RemovableTokenModule``, a real PKCS#11 module
/// that can be pulled out and put back: signing fails closed while the token is out, resumes by
/// itself when it is back, and a PIN the token refuses at re-login is never tried twice.
@Suite("A token key that reconnects after the token is removed", .serialized)
struct KeyConnectionTests {
    @Test("fails closed while the token is out, signs again once it is back, and never retries a refused PIN")
    func reconnect() async throws {
        try await SoftHSMToken.withExclusiveToken(label: "reconnect") { token in
            let work = try TemporaryDirectory("removable")
            defer { work.remove() }
            // Its paths are compiled in: loading it in-process needs no change to the environment.
            let removable = try RemovableTokenModule(in: work)

            // A P-256 key generated on the token through the real module, released before the
            // removable module (which loads the same SoftHSM) takes over.
            let spki = try {
                let module = try PKCS11Module(path: SoftHSMToken.modulePath)
                let session = try module.openSession(.label(token.label), pin: SecretBytes(utf8: token.userPIN))
                return try session.generateKeyPair(.p256, label: "reconnect-key", id: [0x07]).publicKey.spkiSHA256
            }()
            let connection = try PKCS11KeyConnection(
                modulePath: removable.path, selector: .label(token.label), pin: SecretBytes(utf8: token.userPIN), spkiSHA256: spki)
            let key = try connection.privateKey
            let message = Array("to be signed".utf8)
            func sign() throws -> Certificate.Signature { try key.signSynchronously(bytes: message, signatureAlgorithm: .ecdsaWithSHA256) }
            _ = try sign()

            try removable.remove()
            let whileOut = #expect(throws: PKCS11Error.self) { try sign() }
            #expect(whileOut?.code == .tokenUnavailable)
            #expect(connection.probe() != .available)

            try removable.reinsert()
            #expect(connection.probe() == .available)
            _ = try sign()

            // Out again, and what comes back with the same label refuses our PIN (another token, or
            // its PIN was changed). The PIN is refused once and never tried again, however often
            // the key is probed or used: the token counts failures and would lock.
            try removable.remove()
            _ = connection.probe()
            try removable.refusePIN()
            try removable.reinsert()
            let before = removable.loginAttempts
            for _ in 0..<5 { _ = connection.probe() }
            let refused = #expect(throws: PKCS11Error.self) { try sign() }
            #expect(removable.loginAttempts == before + 1, "logins after the refusal: \(removable.loginAttempts - before)")
            #expect(refused?.code == .tokenUnavailable)
            #expect("\(refused.map { "\($0)" } ?? "")".contains("not retrying"), "\(String(describing: refused))")
            guard case .unavailable(let reason) = connection.availability else {
                Issue.record("a refused PIN must leave the key unavailable")
                return
            }
            #expect(reason.contains("CKR_PIN_INCORRECT") || reason.contains("refused the PIN"), "\(reason)")
            #expect(!reason.contains("pin=") && !reason.contains(token.userPIN + " "))
        }
    }
}
