/// The cRLNumber must be strictly greater than the number of the previous CRL of the same
/// scope. RFC 5280 §5.2.3: "CRL issuers ... MUST include this extension" and the number is
/// "monotonically increasing sequence number for a given CRL scope and CRL issuer". Presence is
/// guaranteed by ``TBSCertList``, which always encodes it.
struct CRLNumberIncreasesRule: CRLLintRule {
    static let name = "crl_number_increases"
    static let citation = "RFC 5280 §5.2.3"

    func checkList(_ tbs: TBSCertList, context: CRLLintContext) -> String? {
        guard let previous = context.previousCRLNumber, tbs.crlNumber <= previous else { return nil }
        return "CRL number \(tbs.crlNumber) is not greater than the previous number \(previous)"
    }
}
