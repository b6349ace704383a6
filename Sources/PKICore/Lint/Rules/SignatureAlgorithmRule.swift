import X509

/// RFC 5280 §4.1.1.2 and §4.1.2.3: the signature algorithm must be one the issuer's key can
/// produce. We also require the hash to match the curve (P-256/SHA-256, P-384/SHA-384), as
/// RFC 5480 §4 recommends, and SHA-256 or stronger with RSA.
public struct SignatureAlgorithmRule: LintRule {
    public let name = "e_signature_algorithm_matches_issuer_key"
    public let citation = "RFC 5280 §4.1.1.2"
    public init() {}

    public func check(_ context: LintContext) -> [String] {
        let algorithm = context.certificate.signatureAlgorithm
        guard let issuerKey = context.issuerPublicKey.keyAlgorithm else {
            return ["the issuer's key is not a supported algorithm"]
        }
        let allowed: [Certificate.SignatureAlgorithm]
        switch issuerKey {
        case .rsa2048, .rsa3072, .rsa4096:
            allowed = [.sha256WithRSAEncryption, .sha384WithRSAEncryption, .sha512WithRSAEncryption]
        case .p256: allowed = [.ecdsaWithSHA256]
        case .p384: allowed = [.ecdsaWithSHA384]
        }
        return allowed.contains(algorithm) ? [] : ["\(algorithm) does not match the issuer's \(issuerKey) key"]
    }
}
