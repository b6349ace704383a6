/// Only meaningful reason codes may appear on a full CRL. RFC 5280 §5.3.1: "the reason code
/// CRL entry extension SHOULD be absent instead of using the unspecified (0) reasonCode value",
/// and removeFromCRL (8) "is used only in delta CRLs". Value 7 cannot be represented at all
/// (``RevocationReason`` has no case for it). Modelled on boulder's
/// `lint_crl_acceptable_reason_codes.go`.
struct CRLAcceptableReasonCodesRule: CRLLintRule {
    static let name = "crl_acceptable_reason_codes"
    static let citation = "RFC 5280 §5.3.1"

    mutating func checkEntry(_ entry: RevokedCertificate) -> String? {
        switch entry.reason {
        case .unspecified?:
            return "entry \(entry.serialNumber.revocationHex) encodes reason unspecified (0); omit the reason instead"
        case .removeFromCRL?:
            return "entry \(entry.serialNumber.revocationHex) has reason removeFromCRL, which is for delta CRLs only"
        default:
            return nil
        }
    }
}
