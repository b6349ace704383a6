import Foundation
import PKICore

/// A connection to one private key on a token that survives the token going away and coming
/// back — an HSM rebooted, a USB token or card pulled and re-inserted, a network HSM failing over.
///
/// A `PKCS11PrivateKey` is bound to one session; once the token is gone every later call fails
/// (`CKR_DEVICE_REMOVED`, `CKR_SESSION_HANDLE_INVALID`, …) even after it is back. This type keeps
/// what is needed to start over — the module, the token selector, the key's SPKI SHA-256 and the
/// PIN — and, when a call fails with one of those codes, opens a new session, logs in, finds the
/// key again by its SPKI and retries once. While the token stays away it fails closed with
/// ``PKCS11Error/Code/tokenUnavailable`` and reports itself unavailable (for `/health` and
/// `rootkeeper_hsm_up`).
///
/// The PIN is kept for re-login in a ``SecretBytes`` (zeroed when this connection is released):
/// the alternative, asking an operator to restart the service after every token hiccup, is worse
/// for an online CA and gains nothing against an attacker who can read the process's memory
/// (the process is not dumpable and runs unprivileged).
public final class PKCS11KeyConnection: @unchecked Sendable {
    /// Whether the key can be used now, as of the last signature or probe.
    public enum Availability: Sendable, Equatable {
        case available
        /// Why not (a PKCS#11 error name and the function that returned it); never a PIN.
        case unavailable(String)
    }

    let module: PKCS11Module
    let selector: TokenSelector
    let pin: SecretBytes
    let spkiSHA256: [UInt8]
    /// Serialises reconnection; signing itself is serialised per session by `PKCS11Session`.
    private let lock = NSLock()
    private var key: PKCS11PrivateKey?
    private var failure: String?
    /// Set when a re-login was refused: the token counts PIN failures, so a token swapped for
    /// another with the same label must not be locked by our retries. Only a restart clears it.
    private var loginRefused: String?

    /// Opens a session on the token chosen by `selector`, logs in with `pin` and finds the private
    /// key whose public key has `spkiSHA256`. Fails if any of that fails: a CA must not start
    /// without its key.
    public init(modulePath: String, selector: TokenSelector, pin: SecretBytes, spkiSHA256: [UInt8]) throws {
        self.module = try PKCS11Module(path: modulePath)
        self.selector = selector
        self.pin = pin
        self.spkiSHA256 = spkiSHA256
        self.key = try Self.connect(module: module, selector: selector, pin: pin, spkiSHA256: spkiSHA256)
    }

    /// The key as `swift-certificates` signs with it, bound to this connection.
    public var privateKey: PKCS11ReconnectingPrivateKey {
        get throws { PKCS11ReconnectingPrivateKey(connection: self, template: try current()) }
    }

    /// As of the last signature or ``probe()``.
    public var availability: Availability {
        lock.withLock { failure.map { .unavailable($0) } ?? .available }
    }

    /// Asks the token whether it is there (`C_GetTokenInfo` on the session's slot) and, when the
    /// key was lost, tries to reconnect. Cheap enough to run every few seconds.
    @discardableResult
    public func probe() -> Availability {
        let key: PKCS11PrivateKey
        do {
            key = try current()
        } catch {
            return availability  // current() recorded why it could not reconnect.
        }
        do {
            _ = try module.functions.tokenInfo(slot: key.session.token.slot)
        } catch {
            invalidate(reason: error, ifStill: key)
        }
        return availability
    }

    /// Runs `body` with the current key; when it fails because the token or session went away,
    /// reconnects and runs it once more. Other errors (a bad mechanism, a malformed response)
    /// are passed through unchanged.
    func withKey<R>(_ body: (PKCS11PrivateKey) async throws -> R) async throws -> R {
        let first = try current()
        do {
            return try await body(first)
        } catch let error as PKCS11Error where Self.meansTokenLost(error) {
            invalidate(reason: error, ifStill: first)
            let second = try current()
            do {
                return try await body(second)
            } catch let error as PKCS11Error where Self.meansTokenLost(error) {
                invalidate(reason: error, ifStill: second)
                throw unavailable(error)
            }
        }
    }

    /// Synchronous variant of ``withKey(_:)`` for `CustomPrivateKey.signSynchronously`.
    func withKeySynchronously<R>(_ body: (PKCS11PrivateKey) throws -> R) throws -> R {
        let first = try current()
        do {
            return try body(first)
        } catch let error as PKCS11Error where Self.meansTokenLost(error) {
            invalidate(reason: error, ifStill: first)
            let second = try current()
            do {
                return try body(second)
            } catch let error as PKCS11Error where Self.meansTokenLost(error) {
                invalidate(reason: error, ifStill: second)
                throw unavailable(error)
            }
        }
    }

    /// The connected key, reconnecting first when the last attempt lost it.
    func current() throws -> PKCS11PrivateKey {
        try lock.withLock {
            if let key { return key }
            if let loginRefused {
                throw PKCS11Error(
                    .tokenUnavailable,
                    "the token \(selector) refused the PIN at re-login (\(loginRefused)); "
                        + "not retrying, so the token is not locked: check the token and restart the appliance")
            }
            do {
                let fresh = try Self.connect(module: module, selector: selector, pin: pin, spkiSHA256: spkiSHA256)
                key = fresh
                failure = nil
                return fresh
            } catch {
                failure = Self.describe(error)
                if let error = error as? PKCS11Error, let name = error.returnValueName, Self.pinRefusals.contains(name) {
                    loginRefused = Self.describe(error)
                }
                throw unavailable(error)
            }
        }
    }

    private func invalidate(reason: any Error, ifStill lost: PKCS11PrivateKey? = nil) {
        lock.withLock {
            // Another caller may already have reconnected: do not throw away its fresh session.
            if let lost, let key, key != lost { return }
            key = nil
            failure = Self.describe(reason)
        }
    }

    private func unavailable(_ error: any Error) -> PKCS11Error {
        PKCS11Error(
            .tokenUnavailable,
            "the token \(selector) holding the signing key is unavailable (\(Self.describe(error))); nothing was signed")
    }

    static func connect(module: PKCS11Module, selector: TokenSelector, pin: SecretBytes, spkiSHA256: [UInt8]) throws -> PKCS11PrivateKey {
        let session = try module.openSession(selector, pin: pin)
        return try session.privateKey(spkiSHA256: spkiSHA256)
    }

    /// CK_RVs after which a new session may succeed where the old one cannot (PKCS#11 v2.40
    /// §5.1): the device or token went away, or the session or its login state did.
    static let lostReturnValues: Set<String> = [
        "CKR_DEVICE_REMOVED", "CKR_DEVICE_ERROR", "CKR_TOKEN_NOT_PRESENT", "CKR_TOKEN_NOT_RECOGNIZED",
        "CKR_SESSION_HANDLE_INVALID", "CKR_SESSION_CLOSED", "CKR_USER_NOT_LOGGED_IN", "CKR_SLOT_ID_INVALID",
        "CKR_KEY_HANDLE_INVALID", "CKR_OBJECT_HANDLE_INVALID", "CKR_CRYPTOKI_NOT_INITIALIZED",
    ]

    static let pinRefusals: Set<String> = ["CKR_PIN_INCORRECT", "CKR_PIN_LOCKED", "CKR_PIN_EXPIRED", "CKR_PIN_INVALID"]

    static func meansTokenLost(_ error: PKCS11Error) -> Bool {
        error.code == .tokenNotFound || error.returnValueName.map(lostReturnValues.contains) == true
    }

    static func describe(_ error: any Error) -> String {
        guard let error = error as? PKCS11Error else { return "\(error)" }
        if let function = error.function, let name = error.returnValueName { return "\(function): \(name)" }
        return error.reason
    }
}
