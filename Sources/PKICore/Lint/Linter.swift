import X509

/// Runs every lint rule against a certificate and collects the findings.
public struct Linter: Sendable {
    /// The rules Rootkeeper runs before every signature, in a fixed order.
    public static let defaultRules: [any LintRule] = [
        BasicConstraintsRule(), KeyUsageRule(), PathLengthRule(), SubjectKeyIdentifierRule(),
        AuthorityKeyIdentifierRule(), ValidityWithinIssuerRule(), SerialNumberRule(), RSAKeyRule(),
        ECCurveRule(), SignatureAlgorithmRule(), CASubjectRule(), LeafSubjectAltNameRule(),
        ExtendedKeyUsageRule(), SubjectAttributeBoundsRule(),
    ]

    public let rules: [any LintRule]

    public init(rules: [any LintRule] = Linter.defaultRules) { self.rules = rules }

    /// All findings for `context`; empty means the certificate passes.
    public func lint(_ context: LintContext) -> [LintFinding] {
        rules.flatMap { rule in rule.check(context).map { LintFinding(rule: rule.name, message: $0) } }
    }

    /// Throws `PKIError.lint` naming the first failing rule (and counting the others).
    public func requirePasses(_ context: LintContext) throws {
        let findings = lint(context)
        guard let first = findings.first else { return }
        let more = findings.count > 1 ? " (and \(findings.count - 1) more: \(findings.dropFirst().map(\.rule).joined(separator: ", ")))" : ""
        throw PKIError.lint("\(first.rule): \(first.message)\(more)")
    }
}
