import X509

/// RFC 5280 §4.1.2.5 (validity) with §6.1.3 (a) (2): a certificate outside its issuer's validity
/// fails path validation at that time, so the period must be non-empty and lie inside the issuer's.
public struct ValidityWithinIssuerRule: LintRule {
    public let name = "e_validity_within_issuer"
    public let citation = "RFC 5280 §4.1.2.5"
    public init() {}

    public func check(_ context: LintContext) -> [String] {
        let certificate = context.certificate
        var problems: [String] = []
        if certificate.notValidAfter <= certificate.notValidBefore { problems.append("notAfter is not after notBefore") }
        if let issuerEnd = context.issuer.notValidAfter, certificate.notValidAfter > issuerEnd {
            problems.append("notAfter \(certificate.notValidAfter) is after the issuer's notAfter \(issuerEnd)")
        }
        if let issuerStart = context.issuer.notValidBefore, certificate.notValidBefore < issuerStart {
            problems.append("notBefore \(certificate.notValidBefore) is before the issuer's notBefore \(issuerStart)")
        }
        return problems
    }
}
