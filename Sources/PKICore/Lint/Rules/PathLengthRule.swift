import X509

/// RFC 5280 §4.2.1.9: pathLenConstraint is only meaningful with cA TRUE and keyCertSign; the value
/// must be what the profile sets (none for the root, 0 for intermediates).
public struct PathLengthRule: LintRule {
    public let name = "e_path_length_constraint"
    public let citation = "RFC 5280 §4.2.1.9"
    public init() {}

    public func check(_ context: LintContext) -> [String] {
        guard let constraints = try? context.certificate.extensions.basicConstraints else { return [] }
        switch constraints {
        case .notCertificateAuthority:
            return []
        case .isCertificateAuthority(let pathLength):
            guard context.kind.isCA else { return [] }  // reported by the basic constraints rule
            if pathLength != context.expectedPathLength {
                return [
                    "pathLenConstraint is \(pathLength.map(String.init) ?? "absent"), the profile sets \(context.expectedPathLength.map(String.init) ?? "none")"
                ]
            }
            return []
        }
    }
}
