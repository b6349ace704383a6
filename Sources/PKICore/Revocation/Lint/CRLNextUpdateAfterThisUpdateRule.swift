/// nextUpdate must be later than thisUpdate. RFC 5280 §5.1.2.5: nextUpdate "indicates the date
/// by which the next CRL will be issued"; a CRL whose nextUpdate is not after its thisUpdate is
/// stale the moment it is published.
struct CRLNextUpdateAfterThisUpdateRule: CRLLintRule {
    static let name = "crl_next_update_after_this_update"
    static let citation = "RFC 5280 §5.1.2.5"

    func checkList(_ tbs: TBSCertList, context: CRLLintContext) -> String? {
        tbs.nextUpdate > tbs.thisUpdate ? nil : "nextUpdate \(tbs.nextUpdate) is not after thisUpdate \(tbs.thisUpdate)"
    }
}
