/// The CRL issuer name must equal the subject of the certificate whose key signs it.
/// RFC 5280 §5.1.2.3: "The issuer field MUST contain a non-empty X.500 distinguished name (DN)"
/// identifying the entity that signed the CRL; path validation (§6.3.3 (b)) matches it against
/// the certificate issuer.
struct CRLIssuerNameMatchesRule: CRLLintRule {
    static let name = "crl_issuer_name_matches"
    static let citation = "RFC 5280 §5.1.2.3"

    func checkList(_ tbs: TBSCertList, context: CRLLintContext) -> String? {
        if tbs.issuer.isEmpty { return "the CRL issuer name is empty" }
        return tbs.issuer == context.issuerCertificate.subject
            ? nil : "CRL issuer \(tbs.issuer) differs from the signing certificate's subject \(context.issuerCertificate.subject)"
    }
}
