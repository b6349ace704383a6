import Foundation
import SwiftASN1
import X509

/// Builds and signs successful OCSP responses (RFC 6960 §4.2.1) for one responder key.
///
/// ```
/// ResponseData ::= SEQUENCE {
///    version              [0] EXPLICIT Version DEFAULT v1,
///    responderID              ResponderID,
///    producedAt               GeneralizedTime,
///    responses                SEQUENCE OF SingleResponse,
///    responseExtensions   [1] EXPLICIT Extensions OPTIONAL }
///
/// ResponderID ::= CHOICE {
///    byName               [1] Name,
///    byKey                [2] KeyHash }
/// KeyHash ::= OCTET STRING -- SHA-1 hash of responder's public key
/// ```
///
/// Everything that does not change between responses (ResponderID byKey, AlgorithmIdentifier,
/// the `certs` field for a delegated responder) is encoded once in the initializer, and each
/// ``OCSPSingleResponse`` carries its own DER, so a response costs a few appends, the signature
/// and (by default) its verification.
public struct OCSPResponseSigner: Sendable {
    /// The certificate of the signing key: the CA itself, or a delegated responder certificate
    /// with extKeyUsage id-kp-OCSPSigning issued by the CA (RFC 6960 §4.2.2.2).
    public let responderCertificate: Certificate
    /// The algorithm responses are signed with.
    public let signatureAlgorithm: Certificate.SignatureAlgorithm
    private let privateKey: Certificate.PrivateKey
    private let responderID: [UInt8]
    private let algorithmIdentifier: [UInt8]
    private let certsField: [UInt8]
    private let verifyAfterSigning: Bool

    static let basicResponseOID = CompactDER.oid("1.3.6.1.5.5.7.48.1.1")

    /// - Parameters:
    ///   - includeResponderCertificate: put `responderCertificate` in `certs` (needed for a
    ///     delegated responder so clients can check its EKU and issuer; RFC 6960 §4.2.2.2).
    ///   - signatureAlgorithm: defaults to the algorithm matching the key.
    ///   - verifyAfterSigning: verify every signature before returning it (catches faulty
    ///     signers, e.g. an RSA CRT fault in an HSM). On by default.
    /// - Throws: `invalidParameter` when the key does not belong to the certificate.
    public init(
        responderCertificate: Certificate,
        privateKey: Certificate.PrivateKey,
        includeResponderCertificate: Bool = false,
        signatureAlgorithm: Certificate.SignatureAlgorithm? = nil,
        verifyAfterSigning: Bool = true
    ) throws {
        guard privateKey.publicKey == responderCertificate.publicKey else {
            throw PKIError.invalidParameter("the OCSP signing key does not match the responder certificate")
        }
        let algorithm = try signatureAlgorithm ?? SignatureAlgorithmDER.defaultAlgorithm(for: responderCertificate.publicKey)
        self.responderCertificate = responderCertificate
        self.privateKey = privateKey
        self.signatureAlgorithm = algorithm
        self.algorithmIdentifier = try SignatureAlgorithmDER.encode(algorithm)
        let keyHash = OCSPHashAlgorithm.sha1.hash(responderCertificate.publicKey.subjectPublicKeyInfoBytes)
        self.responderID = CompactDER.wrap(tag: DERTag.contextConstructed(2), CompactDER.wrap(tag: DERTag.octetString, keyHash))
        if includeResponderCertificate {
            var serializer = DER.Serializer()
            do { try serializer.serialize(responderCertificate) } catch {
                throw PKIError.malformed("cannot encode the responder certificate: \(error)")
            }
            certsField = CompactDER.wrap(
                tag: DERTag.contextConstructed(0), CompactDER.wrap(tag: DERTag.sequence, serializer.serializedBytes))
        } else {
            certsField = []
        }
        self.verifyAfterSigning = verifyAfterSigning
    }

    /// Signs a successful response for `responses`, echoing `nonce` when given, and returns the
    /// DER OCSPResponse.
    /// - Throws: `invalidParameter` for an empty list, `signingFailure`, `invalidSignature`.
    public func sign(_ responses: [OCSPSingleResponse], producedAt: Date, nonce: OCSPNonce? = nil) async throws -> [UInt8] {
        guard !responses.isEmpty else { throw PKIError.invalidParameter("an OCSP response needs at least one SingleResponse") }
        var list: [UInt8] = []
        let listLength = responses.reduce(0) { $0 + $1.derEncoded.count }
        CompactDER.appendHeader(tag: DERTag.sequence, length: listLength, to: &list)
        var content = responderID
        content.reserveCapacity(responderID.count + 17 + list.count + listLength + 64)
        DERTime.appendGeneralizedTime(DERTime.seconds(producedAt), to: &content)
        content += list
        for response in responses { content += response.derEncoded }
        if let nonce {
            content += CompactDER.wrap(
                tag: DERTag.contextConstructed(1), CompactDER.wrap(tag: DERTag.sequence, nonce.extensionDER))
        }
        let responseData = CompactDER.wrap(tag: DERTag.sequence, content)

        let signature: Certificate.Signature
        do {
            signature = try await privateKey.signAsynchronously(bytes: responseData, signatureAlgorithm: signatureAlgorithm)
        } catch {
            throw PKIError.signing("OCSP response signing failed: \(error)")
        }
        let signatureBytes = signature.rawRepresentation
        if verifyAfterSigning,
            !responderCertificate.publicKey.isValidSignature(signatureBytes, for: responseData, signatureAlgorithm: signatureAlgorithm)
        {
            throw PKIError.invalidSignature("the OCSP signature just produced does not verify")
        }
        var basic = responseData + algorithmIdentifier
        CompactDER.appendHeader(tag: DERTag.bitString, length: signatureBytes.count + 1, to: &basic)
        basic.append(0)
        basic += signatureBytes
        basic += certsField
        let basicResponse = CompactDER.wrap(tag: DERTag.sequence, basic)
        let responseBytes = CompactDER.wrap(
            tag: DERTag.sequence, Self.basicResponseOID + CompactDER.wrap(tag: DERTag.octetString, basicResponse))
        return CompactDER.wrap(
            tag: DERTag.sequence,
            [DERTag.enumerated, 1, OCSPResponseStatus.successful.rawValue]
                + CompactDER.wrap(tag: DERTag.contextConstructed(0), responseBytes))
    }

    /// The DER OCSPResponse for an unsuccessful status, which carries no responseBytes and no
    /// signature (RFC 6960 §4.2.1). Throws `invalidParameter` for `.successful`.
    public static func unsignedResponse(_ status: OCSPResponseStatus) throws -> [UInt8] {
        guard status != .successful else {
            throw PKIError.invalidParameter("a successful OCSP response must be signed")
        }
        return [DERTag.sequence, 3, DERTag.enumerated, 1, status.rawValue]
    }
}
