import X509

/// RFC 5280 §4.1.2.6: when the subject is a CA the subject field MUST be a non-empty
/// distinguished name (it is the issuer name of everything it signs, §4.1.2.4).
public struct CASubjectRule: LintRule {
    public let name = "e_ca_subject_non_empty"
    public let citation = "RFC 5280 §4.1.2.6"
    public init() {}

    public func check(_ context: LintContext) -> [String] {
        guard context.kind.isCA else { return [] }
        return context.certificate.subject.isEmpty ? ["a CA certificate has an empty subject"] : []
    }
}
