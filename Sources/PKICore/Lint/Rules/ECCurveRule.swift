import X509

/// RFC 5280 §4.1.2.7 with RFC 5480 §2.1.1: an EC subject key must use namedCurve, and Rootkeeper
/// accepts only P-256 and P-384 (docs/profiles.md#key-algorithms).
public struct ECCurveRule: LintRule {
    public let name = "e_ec_named_curve"
    public let citation = "RFC 5480 §2.1.1"
    public init() {}

    public func check(_ context: LintContext) -> [String] {
        guard let info = try? PublicKeyInfo(spkiDER: context.certificate.publicKey.spkiDER) else {
            return ["subject public key does not decode"]
        }
        if case .ec = info.kind, info.keyAlgorithm == nil {
            return ["\(info) is not P-256 or P-384"]
        }
        if case .other(let algorithm) = info.kind {
            return ["key algorithm \(algorithm) is neither RSA nor EC"]
        }
        return []
    }
}
