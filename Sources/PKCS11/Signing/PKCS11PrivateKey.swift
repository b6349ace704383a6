import Crypto
import Foundation
import SwiftASN1
import X509

/// A private key that stays in a PKCS#11 token and signs through C_Sign, plugged into
/// swift-certificates as a `CustomPrivateKey` (docs/conventions.md#hsm-keys):
/// `Certificate.PrivateKey(pkcs11Key)`.
///
/// RSA keys sign with CKM_SHA{256,384,512}_RSA_PKCS (the token hashes and pads, RFC 8017 §8.2).
/// EC keys sign with CKM_ECDSA over a digest computed here, because not every token implements
/// the hashing ECDSA mechanisms; the token's raw `r || s` (PKCS#11 v2.40 §2.3.1) is re-encoded as
/// the DER ECDSA-Sig-Value that X.509 uses (RFC 5480 §2.2 / RFC 3279 §2.2.3).
public struct PKCS11PrivateKey: CustomPrivateKey, @unchecked Sendable {
    let session: PKCS11Session
    let handle: UInt
    let curve: PKCS11KeySpec.Curve?
    /// CKA_LABEL of the private key.
    public let label: String
    public let publicKey: Certificate.PublicKey

    init(session: PKCS11Session, handle: UInt, publicKey: Certificate.PublicKey, curve: PKCS11KeySpec.Curve?, label: String) {
        self.session = session
        self.handle = handle
        self.publicKey = publicKey
        self.curve = curve
        self.label = label
    }

    public var defaultSignatureAlgorithm: Certificate.SignatureAlgorithm { Self.defaultAlgorithm(curve: curve) }

    public var supportedSignatureAlgorithms: [Certificate.SignatureAlgorithm] { Self.supportedAlgorithms(curve: curve) }

    /// SHA-256 for RSA and P-256, SHA-384 for P-384 (RFC 5480 §4: the hash matched to the curve).
    static func defaultAlgorithm(curve: PKCS11KeySpec.Curve?) -> Certificate.SignatureAlgorithm {
        switch curve {
        case .none: .sha256WithRSAEncryption
        case .p256: .ecdsaWithSHA256
        case .p384: .ecdsaWithSHA384
        }
    }

    static func supportedAlgorithms(curve: PKCS11KeySpec.Curve?) -> [Certificate.SignatureAlgorithm] {
        curve == nil
            ? [.sha256WithRSAEncryption, .sha384WithRSAEncryption, .sha512WithRSAEncryption]
            : [.ecdsaWithSHA256, .ecdsaWithSHA384, .ecdsaWithSHA512]
    }

    public func signSynchronously(bytes: some DataProtocol, signatureAlgorithm: Certificate.SignatureAlgorithm) throws -> Certificate.Signature {
        let (mechanism, input) = try prepare(Array(bytes), signatureAlgorithm)
        let raw = try session.perform {
            try session.functions.sign(session: session.handle, mechanism: mechanism, key: handle, data: input)
        }
        return try finish(raw, signatureAlgorithm)
    }

    /// Runs the blocking C_Sign on the session's own dispatch queue, off the cooperative pool.
    public func signAsynchronously(
        bytes: some DataProtocol & Sendable, signatureAlgorithm: Certificate.SignatureAlgorithm
    ) async throws -> Certificate.Signature {
        let (mechanism, input) = try prepare(Array(bytes), signatureAlgorithm)
        let session = self.session
        let handle = self.handle
        let raw = try await session.performAsync {
            try session.functions.sign(session: session.handle, mechanism: mechanism, key: handle, data: input)
        }
        return try finish(raw, signatureAlgorithm)
    }

    /// The mechanism and the bytes handed to C_Sign for `algorithm`.
    func prepare(_ message: [UInt8], _ algorithm: Certificate.SignatureAlgorithm) throws -> (UInt, [UInt8]) {
        guard supportedSignatureAlgorithms.contains(algorithm) else {
            throw PKCS11Error.unsupported("the \(curve == nil ? "RSA" : "EC") key \"\(label)\" cannot sign with \(algorithm)")
        }
        switch algorithm {
        case .sha256WithRSAEncryption: return (CKM.sha256RSAPKCS, message)
        case .sha384WithRSAEncryption: return (CKM.sha384RSAPKCS, message)
        case .sha512WithRSAEncryption: return (CKM.sha512RSAPKCS, message)
        case .ecdsaWithSHA256: return (CKM.ecdsa, Array(SHA256.hash(data: message)))
        case .ecdsaWithSHA384: return (CKM.ecdsa, Array(SHA384.hash(data: message)))
        default: return (CKM.ecdsa, Array(SHA512.hash(data: message)))
        }
    }

    /// Wraps the token's output as a swift-certificates signature.
    func finish(_ raw: [UInt8], _ algorithm: Certificate.SignatureAlgorithm) throws -> Certificate.Signature {
        let bytes = curve == nil ? raw : try Self.ecdsaSigValue(raw: raw)
        return try Certificate.Signature(signatureAlgorithm: algorithm, signatureBytes: ASN1BitString(bytes: ArraySlice(bytes)))
    }

    /// `r || s` (each half the signature) → DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`.
    static func ecdsaSigValue(raw: [UInt8]) throws -> [UInt8] {
        guard !raw.isEmpty, raw.count % 2 == 0 else {
            throw PKCS11Error.malformedResponse("the token returned an ECDSA signature of odd length \(raw.count)")
        }
        let half = raw.count / 2
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(ArraySlice(raw[..<half].drop { $0 == 0 }))
            try coder.serialize(ArraySlice(raw[half...].drop { $0 == 0 }))
        }
        return serializer.serializedBytes
    }

    // MARK: PEMSerializable: the key never leaves the token.

    public static var defaultPEMDiscriminator: String { "PRIVATE KEY" }

    public func serialize(into coder: inout DER.Serializer) throws {
        throw PKCS11Error(.notExportable, "the private key \"\(label)\" lives in a PKCS#11 token and is not exportable")
    }

    // MARK: Hashable: identity is the token object.

    public static func == (lhs: PKCS11PrivateKey, rhs: PKCS11PrivateKey) -> Bool {
        lhs.session === rhs.session && lhs.handle == rhs.handle
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(session))
        hasher.combine(handle)
    }
}
