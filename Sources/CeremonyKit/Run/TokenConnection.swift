import Foundation
import PKCS11
import PKICore

/// An open, logged-in session on the ceremony token, with the identity the transcript records.
struct TokenConnection {
    let module: PKCS11Module
    let session: PKCS11Session

    var identity: TranscriptEntry.Token {
        TranscriptEntry.Token(
            label: session.token.label, serial: session.token.serial, model: session.token.model,
            manufacturer: session.token.manufacturer)
    }

    /// Loads the module, finds the one token the environment names and logs in with the PIN from
    /// the environment's PIN source. The PIN buffer is zeroed when this returns.
    static func open(environment: CeremonyEnvironment, console: any CeremonyConsole) throws -> TokenConnection {
        guard let tokenText = environment.token else {
            throw CeremonyError.environment("no token given: set 'token' in the environment or pass --token (label, serial or pkcs11: URI)")
        }
        let selector = try TokenSelector(parsing: tokenText)
        let module: PKCS11Module
        do {
            module = try PKCS11Module(path: environment.modulePath)
        } catch {
            throw CeremonyError(.token, ErrorText.of(error))
        }
        // Find the token before asking for the PIN: a missing token is reported without a prompt.
        let token: PKCS11TokenInfo
        do {
            token = try module.token(selector)
        } catch {
            throw CeremonyError(
                .token,
                "\(ErrorText.of(error)); check the token label or serial with `ceremony devices --module \(environment.modulePath)` and that the card or HSM is connected"
            )
        }
        console.show("token: \(token)")
        let source = try PINSource(parsing: environment.pinSource ?? "prompt")
        let pin = try source.readPIN(prompt: "User PIN for token \"\(token.label)\": ")
        do {
            // One login attempt only: a retry would burn another of the token's PIN tries.
            let session = try module.openSession(selector, pin: pin)
            return TokenConnection(module: module, session: session)
        } catch {
            throw CeremonyError(
                .token, "login to token \"\(token.label)\" failed: \(ErrorText.of(error)) (no retry was made; the token counts failed attempts)")
        }
    }
}
