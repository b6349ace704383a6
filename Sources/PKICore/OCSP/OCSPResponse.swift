import Foundation
import SwiftASN1
import X509

/// A decoded OCSP response (RFC 6960 §4.2.1), used to check what the responder produced.
///
/// ```
/// OCSPResponse ::= SEQUENCE {
///    responseStatus         OCSPResponseStatus,
///    responseBytes          [0] EXPLICIT ResponseBytes OPTIONAL }
///
/// ResponseBytes ::=       SEQUENCE {
///    responseType   OBJECT IDENTIFIER,
///    response       OCTET STRING }
///
/// BasicOCSPResponse       ::= SEQUENCE {
///    tbsResponseData      ResponseData,
///    signatureAlgorithm   AlgorithmIdentifier,
///    signature            BIT STRING,
///    certs            [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
/// ```
public struct OCSPResponse: Sendable {
    public let status: OCSPResponseStatus
    /// Present exactly when ``status`` is `successful`.
    public let basicResponse: OCSPBasicResponse?

    public init(derEncoded bytes: [UInt8]) throws {
        var top = CompactDERReader(bytes[...])
        let response = try top.read(tag: DERTag.sequence, "OCSPResponse")
        try top.requireEnd("OCSPResponse")
        var reader = CompactDERReader(response.content)
        let code = try CompactDERReader.smallInteger(reader.read(tag: DERTag.enumerated, "responseStatus").content, "responseStatus")
        guard let status = OCSPResponseStatus(rawValue: UInt8(code)) else {
            throw PKIError.malformed("undefined OCSP response status \(code)")
        }
        self.status = status
        guard let tagged = try reader.readIfPresent(tag: DERTag.contextConstructed(0), "responseBytes") else {
            guard status != .successful else { throw PKIError.malformed("successful OCSP response without responseBytes") }
            basicResponse = nil
            return
        }
        try reader.requireEnd("OCSPResponse")
        guard status == .successful else { throw PKIError.malformed("unsuccessful OCSP response with responseBytes") }
        var wrapper = CompactDERReader(tagged.content)
        var responseBytes = try CompactDERReader(wrapper.read(tag: DERTag.sequence, "ResponseBytes").content)
        try wrapper.requireEnd("responseBytes")
        let type = try responseBytes.read(tag: DERTag.oid, "responseType")
        guard type.encoded.elementsEqual(OCSPResponseSigner.basicResponseOID) else {
            throw PKIError.unsupported("OCSP response type is not id-pkix-ocsp-basic")
        }
        let octets = try responseBytes.read(tag: DERTag.octetString, "response")
        try responseBytes.requireEnd("ResponseBytes")
        basicResponse = try OCSPBasicResponse(derEncoded: Array(octets.content))
    }
}

/// A decoded BasicOCSPResponse.
public struct OCSPBasicResponse: Sendable {
    /// ResponderID byKey (SHA-1 of the responder's public key), nil for byName.
    public let responderKeyHash: [UInt8]?
    public let producedAt: Date
    public let responses: [OCSPSingleResponse]
    /// The echoed nonce, if any.
    public let nonce: OCSPNonce?
    public let signatureAlgorithm: Certificate.SignatureAlgorithm
    public let signatureBytes: [UInt8]
    /// Certificates in `certs` (e.g. a delegated responder certificate).
    public let certificates: [Certificate]
    /// The signed ResponseData bytes.
    public let tbsResponseData: [UInt8]

    init(derEncoded bytes: [UInt8]) throws {
        var top = CompactDERReader(bytes[...])
        var reader = try CompactDERReader(top.read(tag: DERTag.sequence, "BasicOCSPResponse").content)
        try top.requireEnd("BasicOCSPResponse")
        let data = try reader.read(tag: DERTag.sequence, "ResponseData")
        signatureAlgorithm = try SignatureAlgorithmDER.decode(reader.read("signatureAlgorithm"))
        let bits = try reader.read(tag: DERTag.bitString, "signature")
        guard bits.content.first == 0 else { throw PKIError.malformed("OCSP signature: unused bits must be 0") }
        signatureBytes = Array(bits.content.dropFirst())
        var certificates: [Certificate] = []
        if let certs = try reader.readIfPresent(tag: DERTag.contextConstructed(0), "certs") {
            var wrapper = CompactDERReader(certs.content)
            var list = try CompactDERReader(wrapper.read(tag: DERTag.sequence, "certs").content)
            while !list.isAtEnd {
                let element = try list.read(tag: DERTag.sequence, "certs entry")
                do { certificates.append(try Certificate(derEncoded: Array(element.encoded))) } catch {
                    throw PKIError.malformed("OCSP certs entry: \(error)")
                }
            }
        }
        try reader.requireEnd("BasicOCSPResponse")
        self.certificates = certificates
        tbsResponseData = Array(data.encoded)

        var fields = CompactDERReader(data.content)
        _ = try fields.readIfPresent(tag: DERTag.contextConstructed(0), "ResponseData.version")
        let responder = try fields.read("responderID")
        switch responder.tag {
        case DERTag.contextConstructed(2):
            var inner = CompactDERReader(responder.content)
            responderKeyHash = try Array(inner.read(tag: DERTag.octetString, "KeyHash").content)
        case DERTag.contextConstructed(1): responderKeyHash = nil
        default: throw PKIError.malformed("ResponderID: unexpected tag")
        }
        producedAt = try DERTime.decode(fields.read(tag: DERTag.generalizedTime, "producedAt"), "producedAt")
        var list = try CompactDERReader(fields.read(tag: DERTag.sequence, "responses").content)
        var responses: [OCSPSingleResponse] = []
        while !list.isAtEnd { responses.append(try OCSPSingleResponse(decoding: list.read("SingleResponse"))) }
        self.responses = responses
        var nonce: OCSPNonce?
        if let tagged = try fields.readIfPresent(tag: DERTag.contextConstructed(1), "responseExtensions") {
            var wrapper = CompactDERReader(tagged.content)
            var extensions = try CompactDERReader(wrapper.read(tag: DERTag.sequence, "responseExtensions").content)
            while !extensions.isAtEnd {
                let ext = try DERExtension(extensions.read(tag: DERTag.sequence, "response extension"))
                if ext.oid.elementsEqual(OCSPNonce.oid) { nonce = try OCSPNonce(extensionValue: ext.value) }
            }
        }
        try fields.requireEnd("ResponseData")
        self.nonce = nonce
    }

    /// Whether the signature verifies with `signer`'s public key and the ResponderID names it.
    public func isSignatureValid(signer: Certificate) -> Bool {
        let keyHash = OCSPHashAlgorithm.sha1.hash(signer.publicKey.subjectPublicKeyInfoBytes)
        return responderKeyHash == keyHash
            && signer.publicKey.isValidSignature(signatureBytes, for: tbsResponseData, signatureAlgorithm: signatureAlgorithm)
    }
}
