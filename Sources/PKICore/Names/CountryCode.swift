/// A country for the `C=` attribute of a subject name: an officially assigned ISO 3166-1 alpha-2
/// code (RFC 5280 Appendix A, `X520countryName`). Checked against the table below rather than
/// only for length, so that a plausible mistake such as `UK` (reserved, not assigned: the United
/// Kingdom is `GB`) is refused with the code that was meant before a 20-year root carries it.
public struct CountryCode: Sendable, Hashable, CustomStringConvertible {
    /// The two upper-case letters.
    public let code: String

    /// Parses `text` (upper case, exactly two letters). Lower case is refused, not folded: the
    /// code goes into a certificate as written, and witnesses compare what the plan says.
    public init(_ text: String) throws {
        guard text.utf8.count == 2, text.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            let upper = text.uppercased()
            let hint = Self.assigned.contains(upper) ? ": write '\(upper)'" : ""
            throw PKIError.invalidParameter(
                "country '\(text)' is not an ISO 3166-1 alpha-2 code (two upper-case letters such as GB, DE, US)\(hint)")
        }
        guard Self.assigned.contains(text) else {
            if let meant = Self.commonMistakes[text] {
                throw PKIError.invalidParameter("country '\(text)' is not an ISO 3166-1 alpha-2 code: did you mean '\(meant)'?")
            }
            throw PKIError.invalidParameter(
                "country '\(text)' is not an assigned ISO 3166-1 alpha-2 code (for example GB, DE, FR, US); check the ISO 3166-1 list")
        }
        code = text
    }

    public var description: String { code }

    /// Codes people write that ISO 3166-1 does not assign, with the code they mean.
    static let commonMistakes: [String: String] = ["UK": "GB", "EL": "GR"]

    /// The officially assigned ISO 3166-1 alpha-2 codes (249).
    static let assigned: Set<String> = [
        "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
        "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
        "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
        "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
        "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
        "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
        "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
        "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
        "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
        "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
        "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
        "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
        "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
        "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
        "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
        "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
    ]
}
