import X509

/// RFC 5280 §4.2.1.9: a CA certificate MUST carry basicConstraints marked critical with cA TRUE;
/// Rootkeeper also requires it (critical, cA FALSE) on every leaf so no relying party can treat a
/// leaf as a CA. The cA flag must match what the profile is issuing.
public struct BasicConstraintsRule: LintRule {
    public let name = "e_basic_constraints_critical_consistent"
    public let citation = "RFC 5280 §4.2.1.9"
    public init() {}

    public func check(_ context: LintContext) -> [String] {
        guard let ext = context.certificate.extensions[oid: .X509ExtensionID.basicConstraints] else {
            return ["basicConstraints is missing"]
        }
        var problems: [String] = []
        if !ext.critical { problems.append("basicConstraints is not critical") }
        do {
            let isCA = try BasicConstraints(ext) != .notCertificateAuthority
            if isCA != context.kind.isCA {
                problems.append("cA is \(isCA ? "TRUE" : "FALSE") but the profile issues a \(context.kind.isCA ? "CA" : "leaf")")
            }
        } catch {
            problems.append("basicConstraints does not decode")
        }
        return problems
    }
}
