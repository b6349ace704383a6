import Foundation
import SwiftASN1
import X509

/// The "signer" of the lint copy of a certificate (docs/profiles.md#lint-before-signing): it does
/// no cryptography and returns a fixed placeholder signature value of the issuer's signature
/// algorithm, so building the lint copy costs a DER serialisation and no signature.
///
/// The linter reads the TBSCertificate and the outer signature *algorithm* (RFC 5280 §4.1.1.2),
/// never the signature value; the real signature covers exactly the linted TBS bytes, which
/// ``CertificateIssuer/issue(_:)`` checks byte for byte. The placeholder never verifies under any
/// key (ECDSA r = s = 1, an all-zero RSA value) and the lint copy never leaves the process.
struct PlaceholderSigner: CustomPrivateKey {
    /// Unused by the X.509 builder (the TBS carries the subject's key); required by the protocol.
    let publicKey: Certificate.PublicKey
    let algorithm: Certificate.SignatureAlgorithm

    init(publicKey: Certificate.PublicKey, algorithm: Certificate.SignatureAlgorithm) {
        self.publicKey = publicKey
        self.algorithm = algorithm
    }

    var defaultSignatureAlgorithm: Certificate.SignatureAlgorithm { algorithm }
    var supportedSignatureAlgorithms: [Certificate.SignatureAlgorithm] { [algorithm] }

    func signSynchronously(bytes: some DataProtocol, signatureAlgorithm: Certificate.SignatureAlgorithm) throws -> Certificate.Signature {
        try Self.placeholder(for: signatureAlgorithm)
    }

    func signAsynchronously(
        bytes: some DataProtocol & Sendable, signatureAlgorithm: Certificate.SignatureAlgorithm
    ) async throws -> Certificate.Signature {
        try Self.placeholder(for: signatureAlgorithm)
    }

    /// A syntactically valid signature value for `algorithm` that is no signature of anything.
    static func placeholder(for algorithm: Certificate.SignatureAlgorithm) throws -> Certificate.Signature {
        switch algorithm {
        case .ecdsaWithSHA256, .ecdsaWithSHA384, .ecdsaWithSHA512:
            // ECDSA-Sig-Value ::= SEQUENCE { r INTEGER 1, s INTEGER 1 } (RFC 5480 §2.2 / RFC 3279 §2.2.3).
            return try Certificate.Signature(
                signatureAlgorithm: algorithm, signatureBytes: ASN1BitString(bytes: [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]))
        case .sha256WithRSAEncryption, .sha384WithRSAEncryption, .sha512WithRSAEncryption:
            return try Certificate.Signature(
                signatureAlgorithm: algorithm, signatureBytes: ASN1BitString(bytes: ArraySlice(repeating: 0, count: 256)))
        default:
            throw PKIError.unsupported("no placeholder signature for \(algorithm)")
        }
    }

    // MARK: PEMSerializable: there is no key to export.

    static var defaultPEMDiscriminator: String { "PRIVATE KEY" }

    func serialize(into coder: inout DER.Serializer) throws {
        throw PKIError.unsupported("the lint placeholder signer has no key to serialise")
    }

    // MARK: Hashable

    static func == (lhs: PlaceholderSigner, rhs: PlaceholderSigner) -> Bool { lhs.algorithm == rhs.algorithm }
    func hash(into hasher: inout Hasher) { hasher.combine(algorithm) }
}
