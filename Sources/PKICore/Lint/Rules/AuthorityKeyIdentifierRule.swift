import X509

/// RFC 5280 §4.2.1.1: every certificate except a self-signed root MUST carry an authority key
/// identifier, and its keyIdentifier must equal the issuer's subject key identifier so path
/// building finds the right issuer. On a root, an AKI (if any) must equal its own SKI.
public struct AuthorityKeyIdentifierRule: LintRule {
    public let name = "e_authority_key_identifier_matches_issuer"
    public let citation = "RFC 5280 §4.2.1.1"
    public init() {}

    public func check(_ context: LintContext) -> [String] {
        let ext = context.certificate.extensions[oid: .X509ExtensionID.authorityKeyIdentifier]
        guard let ext else {
            return context.kind == .rootCA ? [] : ["authorityKeyIdentifier is missing"]
        }
        guard let aki = try? AuthorityKeyIdentifier(ext) else { return ["authorityKeyIdentifier does not decode"] }
        var problems: [String] = []
        if ext.critical { problems.append("authorityKeyIdentifier must not be critical") }
        guard let keyIdentifier = aki.keyIdentifier else { return problems + ["authorityKeyIdentifier has no keyIdentifier"] }
        if let expected = context.issuer.keyIdentifier, Array(keyIdentifier) != expected {
            problems.append("authorityKeyIdentifier \(keyIdentifier.hexString) is not the issuer's key identifier \(expected.hexString)")
        }
        return problems
    }
}
