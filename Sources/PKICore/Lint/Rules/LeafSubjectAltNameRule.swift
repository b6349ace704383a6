import X509

/// RFC 5280 §4.2.1.6 (and RFC 6125 §6.4.4: clients match names against the SAN, not the CN):
/// every leaf Rootkeeper issues carries a non-empty subjectAltName; it is critical only when the
/// subject is empty.
public struct LeafSubjectAltNameRule: LintRule {
    public let name = "e_leaf_subject_alt_name_present"
    public let citation = "RFC 5280 §4.2.1.6"
    public init() {}

    public func check(_ context: LintContext) -> [String] {
        guard !context.kind.isCA else { return [] }
        guard let ext = context.certificate.extensions[oid: .X509ExtensionID.subjectAlternativeName] else {
            return ["a leaf certificate has no subjectAltName"]
        }
        guard let names = try? SubjectAlternativeNames(ext) else { return ["subjectAltName does not decode"] }
        var problems: [String] = []
        if names.isEmpty { problems.append("subjectAltName is empty") }
        if context.certificate.subject.isEmpty && !ext.critical {
            problems.append("subjectAltName must be critical when the subject is empty")
        }
        return problems
    }
}
