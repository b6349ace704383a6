import Crypto
import Foundation
import PKICore

/// Sessions and CSRF tokens of the web console (docs/console.md#sessions-and-csrf), kept without
/// server-side state:
///
/// - the session cookie is `random(16) ‖ HMAC(key, "session" ‖ random)`, so only a value this
///   process issued is a session at all;
/// - the CSRF token of a form is `HMAC(key, "csrf" ‖ session ‖ administrator serial)`: bound to
///   the session *and* to the administrator certificate that opened it (another certificate on
///   the same browser, or a token copied to another session, does not match).
///
/// The key is random per process, so a restart ends every session. The cookie is
/// `Secure; HttpOnly; SameSite=Strict; Path=/` (RFC 6265bis §4.1.2.7): a cross-site form never
/// carries it, and the token is a second, independent line of defence.
public struct ConsoleSessions: Sendable {
    public static let cookieName = "rootkeeper_console"
    let key: SymmetricKey

    public init(random: any RandomSource = SystemRandomSource()) {
        key = SymmetricKey(data: random.bytes(32))
    }

    /// A new session value for the cookie.
    public func newSession(random: any RandomSource = SystemRandomSource()) -> String {
        let nonce = random.bytes(16)
        return Self.base64URL(nonce + mac("session", nonce))
    }

    /// Whether `value` is a session this process issued.
    public func isValid(session value: String) -> Bool {
        guard let bytes = Self.decodeBase64URL(value), bytes.count == 48 else { return false }
        let nonce = Array(bytes.prefix(16))
        return Self.constantTimeEqual(Array(bytes.suffix(32)), mac("session", nonce))
    }

    /// The CSRF token forms of `session` carry for the administrator with certificate `serial`.
    public func csrfToken(session: String, serial: String) -> String {
        Self.base64URL(mac("csrf", Array(session.utf8) + [0] + Array(serial.utf8)))
    }

    /// Whether `token` is the CSRF token of `session` and `serial` (constant time).
    public func checkCSRF(_ token: String?, session: String, serial: String) -> Bool {
        guard let token, isValid(session: session) else { return false }
        return Self.constantTimeEqual(Array(token.utf8), Array(csrfToken(session: session, serial: serial).utf8))
    }

    /// The `Set-Cookie` value for a new session.
    public static func setCookie(_ session: String) -> String {
        "\(cookieName)=\(session); Path=/; Secure; HttpOnly; SameSite=Strict"
    }

    /// The session value in a `Cookie` header, if any.
    public static func session(fromCookieHeader header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            if pair.hasPrefix("\(cookieName)=") { return String(pair.dropFirst(cookieName.count + 1)) }
        }
        return nil
    }

    private func mac(_ purpose: String, _ data: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(purpose.utf8) + [0] + data, using: key))
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: String) -> [UInt8]? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard).map(Array.init)
    }
}
