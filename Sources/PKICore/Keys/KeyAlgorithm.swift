import Crypto
import X509
import _CryptoExtras

/// The key types Rootkeeper issues for and signs with (docs/profiles.md#key-algorithms). RSA below 2048 bits and curves
/// other than P-256/P-384 are deliberately absent.
public enum KeyAlgorithm: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case rsa2048 = "rsa-2048"
    case rsa3072 = "rsa-3072"
    case rsa4096 = "rsa-4096"
    case p256 = "p256"
    case p384 = "p384"

    public var description: String { rawValue }

    /// True for the RSA sizes.
    public var isRSA: Bool { self == .rsa2048 || self == .rsa3072 || self == .rsa4096 }

    /// Key size in bits (curve size for EC).
    public var bits: Int {
        switch self {
        case .rsa2048: 2048
        case .rsa3072: 3072
        case .rsa4096: 4096
        case .p256: 256
        case .p384: 384
        }
    }

    /// The signature algorithm Rootkeeper signs with for this key type. EC hashes match the curve
    /// strength (P-256/SHA-256, P-384/SHA-384); RSA uses PKCS#1 v1.5 with SHA-256 (RFC 4055 §5),
    /// what every TLS stack and openssl accept.
    public var signatureAlgorithm: Certificate.SignatureAlgorithm {
        switch self {
        case .rsa2048, .rsa3072, .rsa4096: .sha256WithRSAEncryption
        case .p256: .ecdsaWithSHA256
        case .p384: .ecdsaWithSHA384
        }
    }

    /// The algorithm of `publicKey`, or nil when it is not one Rootkeeper supports.
    public init?(publicKey: Certificate.PublicKey) {
        guard let info = try? PublicKeyInfo(spkiDER: publicKey.spkiDER) else { return nil }
        guard let algorithm = info.keyAlgorithm else { return nil }
        self = algorithm
    }

    /// Generates a software private key of this type with the system CSPRNG.
    ///
    /// RSA keys use e = 65537 (swift-crypto's only choice). RSA-4096 generation takes seconds.
    public func generatePrivateKey() throws -> Certificate.PrivateKey {
        switch self {
        case .rsa2048: Certificate.PrivateKey(try _RSA.Signing.PrivateKey(keySize: .bits2048))
        case .rsa3072: Certificate.PrivateKey(try _RSA.Signing.PrivateKey(keySize: .bits3072))
        case .rsa4096: Certificate.PrivateKey(try _RSA.Signing.PrivateKey(keySize: .bits4096))
        case .p256: Certificate.PrivateKey(P256.Signing.PrivateKey())
        case .p384: Certificate.PrivateKey(P384.Signing.PrivateKey())
        }
    }
}
