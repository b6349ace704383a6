/// A PKCS#11 URI (RFC 7512), e.g. `pkcs11:token=root-ca;serial=1a2b;object=root;id=%01%02`.
///
/// Only the path attributes Rootkeeper uses are kept (RFC 7512 §2.3: token, manufacturer, serial,
/// model, object, id, type). Query attributes (`?pin-source=…`) are rejected: a PIN never comes
/// from a URI in Rootkeeper (docs/ceremony.md#environment). Unknown path attributes are an error rather than being
/// ignored, so a typo cannot silently widen a match.
public struct PKCS11URI: Sendable, Hashable, CustomStringConvertible {
    public var token: String?
    public var manufacturer: String?
    public var serial: String?
    public var model: String?
    /// CKA_LABEL of the object.
    public var object: String?
    /// CKA_ID of the object (percent-decoded bytes).
    public var id: [UInt8]?
    /// `public`, `private`, `cert`, `secret-key` or `data`.
    public var type: String?

    public init(
        token: String? = nil, manufacturer: String? = nil, serial: String? = nil, model: String? = nil,
        object: String? = nil, id: [UInt8]? = nil, type: String? = nil
    ) {
        self.token = token
        self.manufacturer = manufacturer
        self.serial = serial
        self.model = model
        self.object = object
        self.id = id
        self.type = type
    }

    /// Parses `text`; throws ``PKCS11Error`` with code `malformedURI` naming the problem.
    public init(parsing text: String) throws {
        guard text.lowercased().hasPrefix("pkcs11:") else {
            throw PKCS11Error.malformedURI("a PKCS#11 URI starts with \"pkcs11:\"")
        }
        let body = text.dropFirst("pkcs11:".count)
        if body.contains("?") {
            throw PKCS11Error.malformedURI("query attributes (such as pin-source or pin-value) are not accepted")
        }
        self.init()
        var seen = Set<String>()
        for component in body.split(separator: ";", omittingEmptySubsequences: true) {
            guard let equals = component.firstIndex(of: "=") else {
                throw PKCS11Error.malformedURI("attribute \"\(component)\" has no value")
            }
            let name = String(component[..<equals]).lowercased()
            let bytes = try Self.percentDecode(component[component.index(after: equals)...], attribute: name)
            guard seen.insert(name).inserted else { throw PKCS11Error.malformedURI("attribute \"\(name)\" appears twice") }
            func text() throws -> String {
                guard let string = String(validating: bytes, as: UTF8.self) else {
                    throw PKCS11Error.malformedURI("attribute \"\(name)\" is not valid UTF-8")
                }
                return string
            }
            switch name {
            case "token": token = try text()
            case "manufacturer": manufacturer = try text()
            case "serial": serial = try text()
            case "model": model = try text()
            case "object": object = try text()
            case "id": id = bytes
            case "type":
                let value = try text()
                guard ["public", "private", "cert", "secret-key", "data"].contains(value) else {
                    throw PKCS11Error.malformedURI("type \"\(value)\" is not one of public, private, cert, secret-key, data")
                }
                type = value
            case "library-manufacturer", "library-description", "library-version", "slot-description",
                "slot-manufacturer", "slot-id":
                continue  // RFC 7512 §2.3 module/slot attributes: valid, not used for selection.
            default:
                throw PKCS11Error.malformedURI("unknown attribute \"\(name)\"")
            }
        }
    }

    /// RFC 7512 §2.3: `%XX` escapes are decoded; any other character stands for itself.
    static func percentDecode(_ value: Substring, attribute: String) throws -> [UInt8] {
        var result: [UInt8] = []
        var iterator = Array(value.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                result.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else {
                throw PKCS11Error.malformedURI("attribute \"\(attribute)\" has a bad percent-escape")
            }
            result.append(high << 4 | low)
        }
        return result
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Percent-encodes everything outside RFC 3986 unreserved characters.
    private static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out = ""
        for byte in bytes {
            let isUnreserved =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            if isUnreserved {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }

    public var description: String {
        var parts: [String] = []
        if let token { parts.append("token=" + Self.encode(token.utf8)) }
        if let manufacturer { parts.append("manufacturer=" + Self.encode(manufacturer.utf8)) }
        if let serial { parts.append("serial=" + Self.encode(serial.utf8)) }
        if let model { parts.append("model=" + Self.encode(model.utf8)) }
        if let object { parts.append("object=" + Self.encode(object.utf8)) }
        if let id { parts.append("id=" + id.map { "%" + ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined()) }
        if let type { parts.append("type=" + type) }
        return "pkcs11:" + parts.joined(separator: ";")
    }

    /// Whether the token attributes of this URI all match `token`.
    public func matches(_ token: PKCS11TokenInfo) -> Bool {
        (self.token.map { $0 == token.label } ?? true) && (serial.map { $0 == token.serial } ?? true)
            && (manufacturer.map { $0 == token.manufacturer } ?? true) && (model.map { $0 == token.model } ?? true)
    }
}
