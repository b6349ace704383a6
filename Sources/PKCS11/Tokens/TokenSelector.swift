/// How an operator names a token: by label, by serial number, or by an RFC 7512 URI.
///
/// Slot ids are deliberately not offered: they are not stable (SoftHSM renumbers slots when a
/// token is initialised; USB tokens move between slots when re-plugged).
public enum TokenSelector: Sendable, Hashable, CustomStringConvertible {
    case label(String)
    case serial(String)
    case uri(PKCS11URI)

    /// Parses the `token:` value of a ceremony environment: a `pkcs11:` URI, `serial:XXXX`, or a
    /// plain label.
    public init(parsing text: String) throws {
        if text.lowercased().hasPrefix("pkcs11:") {
            self = .uri(try PKCS11URI(parsing: text))
        } else if text.hasPrefix("serial:") {
            self = .serial(String(text.dropFirst("serial:".count)))
        } else {
            self = .label(text)
        }
    }

    public func matches(_ token: PKCS11TokenInfo) -> Bool {
        switch self {
        case .label(let label): token.label == label
        case .serial(let serial): token.serial == serial
        case .uri(let uri): uri.matches(token)
        }
    }

    public var description: String {
        switch self {
        case .label(let label): "label \"\(label)\""
        case .serial(let serial): "serial \"\(serial)\""
        case .uri(let uri): uri.description
        }
    }

    /// Picks exactly one token from `tokens`, or explains why it cannot.
    public func select(from tokens: [PKCS11TokenInfo]) throws -> PKCS11TokenInfo {
        let matching = tokens.filter(matches)
        switch matching.count {
        case 1:
            return matching[0]
        case 0:
            let present = tokens.isEmpty ? "no tokens are present" : "present: " + tokens.map(\.description).joined(separator: "; ")
            throw PKCS11Error.tokenNotFound("token not found for \(self); \(present)")
        default:
            throw PKCS11Error.ambiguous(
                "\(matching.count) tokens match \(self) (" + matching.map(\.description).joined(separator: "; ")
                    + "); select by serial or by a URI with token and serial")
        }
    }
}
