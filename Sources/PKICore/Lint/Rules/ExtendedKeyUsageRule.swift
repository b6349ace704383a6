import X509

/// RFC 5280 §4.2.1.12: the extendedKeyUsage must be exactly what the profile grants (clientAuth
/// for agents and admins, serverAuth for servers, OCSPSigning for responders, none for the root),
/// never anyExtendedKeyUsage, and never critical.
public struct ExtendedKeyUsageRule: LintRule {
    public let name = "e_extended_key_usage_profile"
    public let citation = "RFC 5280 §4.2.1.12"
    public init() {}

    public func check(_ context: LintContext) -> [String] {
        let ext = context.certificate.extensions[oid: .X509ExtensionID.extendedKeyUsage]
        let expected = Set(context.expectedExtendedKeyUsages.map { "\($0)" })
        guard let ext else {
            return expected.isEmpty ? [] : ["extendedKeyUsage is missing; the profile grants \(expected.sorted().joined(separator: ", "))"]
        }
        guard let usages = try? ExtendedKeyUsage(ext) else { return ["extendedKeyUsage does not decode"] }
        var problems: [String] = []
        if ext.critical { problems.append("extendedKeyUsage must not be critical") }
        let actual = Set(usages.map { "\($0)" })
        if usages.contains(.any) { problems.append("anyExtendedKeyUsage is not allowed") }
        if actual != expected {
            problems.append(
                "extendedKeyUsage is {\(actual.sorted().joined(separator: ", "))}, the profile grants {\(expected.sorted().joined(separator: ", "))}")
        }
        return problems
    }
}
