/// Why a certificate was revoked: the CRLReason of RFC 5280 §5.3.1, also used by OCSP
/// (RFC 6960 §4.2.1, `revocationReason [0] EXPLICIT CRLReason`).
///
/// ```
/// CRLReason ::= ENUMERATED {
///      unspecified             (0),
///      keyCompromise           (1),
///      cACompromise            (2),
///      affiliationChanged      (3),
///      superseded              (4),
///      cessationOfOperation    (5),
///      certificateHold         (6),
///           -- value 7 is not used
///      removeFromCRL           (8),
///      privilegeWithdrawn      (9),
///      aACompromise           (10) }
/// ```
public enum RevocationReason: UInt8, CaseIterable, Hashable, Sendable, Codable, CustomStringConvertible {
    case unspecified = 0
    case keyCompromise = 1
    case caCompromise = 2
    case affiliationChanged = 3
    case superseded = 4
    case cessationOfOperation = 5
    case certificateHold = 6
    case removeFromCRL = 8
    case privilegeWithdrawn = 9
    case aaCompromise = 10

    /// The ASN.1 identifier of the reason, used on command lines and in configuration
    /// (`keyCompromise`, `superseded`, `cACompromise` …).
    public var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .keyCompromise: "keyCompromise"
        case .caCompromise: "cACompromise"
        case .affiliationChanged: "affiliationChanged"
        case .superseded: "superseded"
        case .cessationOfOperation: "cessationOfOperation"
        case .certificateHold: "certificateHold"
        case .removeFromCRL: "removeFromCRL"
        case .privilegeWithdrawn: "privilegeWithdrawn"
        case .aaCompromise: "aACompromise"
        }
    }

    /// Parses a reason from its ASN.1 name (case-insensitive, so `keycompromise` and
    /// `caCompromise` work too). Returns nil for anything else, including the unused value 7.
    public init?(name: String) {
        let wanted = name.lowercased()
        guard let match = Self.allCases.first(where: { $0.name.lowercased() == wanted }) else { return nil }
        self = match
    }

    /// Parses the numeric code; 7 and values above 10 are not reasons (RFC 5280 §5.3.1).
    public init?(code: Int) {
        guard let byte = UInt8(exactly: code), let reason = RevocationReason(rawValue: byte) else { return nil }
        self = reason
    }

    public var description: String { name }

    /// Whether a revocation may be recorded with this reason. This CA publishes full CRLs only and
    /// never releases a hold, so two reasons are refused where a revocation is requested:
    /// `removeFromCRL` (8) "is used only in delta CRLs" (RFC 5280 §5.3.1; a full CRL carrying it
    /// fails `crl_acceptable_reason_codes`), and `certificateHold` (6), a temporary state whose
    /// release (RFC 5280 §5.3.1, removeFromCRL in a delta CRL or dropping the entry) this CA does
    /// not implement — a hold would be a revocation that can never be undone.
    public var isAcceptedForRevocation: Bool {
        self != .removeFromCRL && self != .certificateHold
    }

    /// The reasons a revocation may carry, in code order (for help texts and error messages).
    public static var acceptedForRevocation: [RevocationReason] { allCases.filter(\.isAcceptedForRevocation) }
}
