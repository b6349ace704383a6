/// The CRL's authorityKeyIdentifier must equal the issuer certificate's subjectKeyIdentifier,
/// so relying parties pick the right key. RFC 5280 §5.2.1: "Conforming CRL issuers MUST use the
/// key identifier method, and MUST include this extension in all CRLs issued."
struct CRLAKIMatchesIssuerRule: CRLLintRule {
    static let name = "crl_aki_matches_issuer_ski"
    static let citation = "RFC 5280 §5.2.1"

    func checkList(_ tbs: TBSCertList, context: CRLLintContext) -> String? {
        let ski: [UInt8]?
        do { ski = try context.issuerCertificate.extensions.subjectKeyIdentifier.map { Array($0.keyIdentifier) } } catch {
            return "the issuer certificate's subjectKeyIdentifier cannot be read: \(error)"
        }
        guard let ski else { return "the issuer certificate has no subjectKeyIdentifier" }
        return ski == tbs.authorityKeyIdentifier ? nil : "authorityKeyIdentifier does not match the issuer's subjectKeyIdentifier"
    }
}
