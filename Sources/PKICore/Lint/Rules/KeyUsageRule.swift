import X509

/// RFC 5280 §4.2.1.3: keyUsage present and critical; keyCertSign only with cA TRUE (§4.2.1.9) and
/// a CA has keyCertSign and cRLSign (§4.2.1.3, we issue CRLs from every CA). A leaf has
/// digitalSignature and may add keyEncipherment only for RSA (an EC key cannot encipher, RFC 8813 §3).
public struct KeyUsageRule: LintRule {
    public let name = "e_key_usage_critical_consistent"
    public let citation = "RFC 5280 §4.2.1.3"
    public init() {}

    public func check(_ context: LintContext) -> [String] {
        guard let ext = context.certificate.extensions[oid: .X509ExtensionID.keyUsage] else { return ["keyUsage is missing"] }
        guard let usage = try? KeyUsage(ext) else { return ["keyUsage does not decode"] }
        var problems: [String] = []
        if !ext.critical { problems.append("keyUsage is not critical") }
        if context.kind.isCA {
            if !usage.keyCertSign { problems.append("a CA certificate lacks keyCertSign") }
            if !usage.cRLSign { problems.append("a CA certificate lacks cRLSign") }
        } else {
            if usage.keyCertSign || usage.cRLSign { problems.append("a leaf certificate has keyCertSign or cRLSign") }
            if !usage.digitalSignature { problems.append("a leaf certificate lacks digitalSignature") }
            let isRSA = context.certificate.publicKey.keyAlgorithm?.isRSA ?? false
            if usage.keyEncipherment && !isRSA { problems.append("keyEncipherment on a non-RSA key") }
        }
        return problems
    }
}
