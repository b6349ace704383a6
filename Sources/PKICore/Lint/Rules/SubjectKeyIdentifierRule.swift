import X509

/// RFC 5280 §4.2.1.2: CA certificates MUST have a subject key identifier; leaves SHOULD, and
/// Rootkeeper always sets one. It must be the method-1 hash of this certificate's key.
public struct SubjectKeyIdentifierRule: LintRule {
    public let name = "e_subject_key_identifier_present"
    public let citation = "RFC 5280 §4.2.1.2"
    public init() {}

    public func check(_ context: LintContext) -> [String] {
        guard let ext = context.certificate.extensions[oid: .X509ExtensionID.subjectKeyIdentifier] else {
            return ["subjectKeyIdentifier is missing"]
        }
        guard let ski = try? SubjectKeyIdentifier(ext) else { return ["subjectKeyIdentifier does not decode"] }
        var problems: [String] = []
        if ext.critical { problems.append("subjectKeyIdentifier must not be critical") }
        if ski.keyIdentifier != SubjectKeyIdentifier(hash: context.certificate.publicKey).keyIdentifier {
            problems.append("subjectKeyIdentifier is not the SHA-1 of the subject public key")
        }
        return problems
    }
}
