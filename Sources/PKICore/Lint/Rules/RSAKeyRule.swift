import X509

/// RFC 5280 §4.1.2.7 with RFC 3279 §2.3.1 and NIST SP 800-131A: an RSA subject key must have a
/// modulus of at least 2048 bits and the public exponent 65537.
public struct RSAKeyRule: LintRule {
    public let name = "e_rsa_key_strength"
    public let citation = "RFC 5280 §4.1.2.7, RFC 3279 §2.3.1"
    public init() {}

    public func check(_ context: LintContext) -> [String] {
        guard let info = try? PublicKeyInfo(spkiDER: context.certificate.publicKey.spkiDER) else {
            return ["subject public key does not decode"]
        }
        guard case .rsa(let bits, let exponent) = info.kind else { return [] }
        var problems: [String] = []
        if bits < 2048 { problems.append("RSA modulus is \(bits) bits, minimum 2048") }
        if exponent != 65537 { problems.append("RSA public exponent is \(exponent.map(String.init) ?? "over 64 bits"), must be 65537") }
        return problems
    }
}
