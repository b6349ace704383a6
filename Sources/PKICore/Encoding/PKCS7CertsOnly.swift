import Foundation
import SwiftASN1
import X509

/// A "certs-only" CMS message: a degenerate `SignedData` that carries certificates and no
/// signers (RFC 5652 §5, RFC 7030 §4.1.3, historically RFC 2315 `application/pkcs7-mime;
/// smime-type=certs-only`). EST uses it for `/cacerts`, `/simpleenroll` and `/simplereenroll`.
///
/// ```
/// ContentInfo ::= SEQUENCE {
///   contentType  ContentType,                    -- id-signedData 1.2.840.113549.1.7.2
///   content      [0] EXPLICIT ANY DEFINED BY contentType }
/// SignedData ::= SEQUENCE {
///   version           CMSVersion,                -- 1 (RFC 5652 §5.1: no attribute certs, data content)
///   digestAlgorithms  DigestAlgorithmIdentifiers, -- empty SET
///   encapContentInfo  EncapsulatedContentInfo,   -- { id-data } without eContent
///   certificates      [0] IMPLICIT CertificateSet OPTIONAL,
///   crls              [1] IMPLICIT RevocationInfoChoices OPTIONAL,
///   signerInfos       SignerInfos }              -- empty SET
/// ```
///
/// The decoder accepts DER only; it ignores `crls` and rejects anything with signers, because a
/// certs-only message with a signature is not what EST promises and must not be trusted as one.
public struct PKCS7CertsOnly: Sendable, Hashable {
    /// The certificates carried, in the order given (DER `SET OF` encoding sorts them on the wire).
    public var certificates: [Certificate]

    public init(certificates: [Certificate]) {
        self.certificates = certificates
    }

    static let signedDataOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 2]
    static let dataOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 1]

    /// The DER encoding of the ContentInfo.
    public func derEncoded() throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { contentInfo in
            try contentInfo.serialize(Self.signedDataOID)
            try contentInfo.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { explicit in
                try explicit.appendConstructedNode(identifier: .sequence) { signedData in
                    try signedData.serialize(1)
                    signedData.appendConstructedNode(identifier: .set) { _ in }
                    try signedData.appendConstructedNode(identifier: .sequence) { encap in
                        try encap.serialize(Self.dataOID)
                    }
                    try signedData.serializeSetOf(
                        certificates, identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific))
                    signedData.appendConstructedNode(identifier: .set) { _ in }
                }
            }
        }
        return serializer.serializedBytes
    }

    /// The base64 body of an EST response (RFC 7030 §4.1.3: `Content-Transfer-Encoding: base64`),
    /// wrapped at 64 columns with CRLF as in RFC 2045 §6.8.
    public func base64Encoded() throws -> String {
        Data(try derEncoded()).base64EncodedString(options: [.lineLength64Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]) + "\r\n"
    }

    /// Parses a DER `ContentInfo` holding a certs-only `SignedData`.
    public init(derEncoded bytes: [UInt8]) throws {
        do {
            let root = try DER.parse(bytes)
            self.certificates = try DER.sequence(root, identifier: .sequence) { nodes in
                let contentType = try ASN1ObjectIdentifier(derEncoded: &nodes)
                guard contentType == Self.signedDataOID else {
                    throw PKIError.malformed("PKCS#7 content type is \(contentType), not signedData")
                }
                return try DER.explicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { node in
                    try DER.sequence(node, identifier: .sequence) { fields in
                        _ = try Int(derEncoded: &fields)
                        guard let digests = fields.next() else { throw PKIError.malformed("SignedData is truncated") }
                        _ = digests
                        guard fields.next() != nil else { throw PKIError.malformed("SignedData has no encapContentInfo") }
                        var certificates: [Certificate] = []
                        var signerInfos: ASN1Node?
                        while let node = fields.next() {
                            if node.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
                                // Read the elements in wire order without insisting on DER SET OF
                                // sorting: common producers (openssl crl2pkcs7) emit chain order.
                                guard case .constructed(let elements) = node.content else {
                                    throw PKIError.malformed("SignedData certificates field is not constructed")
                                }
                                certificates = try elements.map { try Certificate(derEncoded: $0) }
                            } else if node.identifier == ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific) {
                                continue
                            } else {
                                signerInfos = node
                            }
                        }
                        guard let signerInfos, signerInfos.identifier == .set,
                            case .constructed(let signers) = signerInfos.content
                        else { throw PKIError.malformed("SignedData has no signerInfos SET") }
                        var signerIterator = signers.makeIterator()
                        guard signerIterator.next() == nil else {
                            throw PKIError.malformed("PKCS#7 message has signers; expected certs-only")
                        }
                        return certificates
                    }
                }
            }
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError.malformed("not a DER PKCS#7 certs-only message: \(error)")
        }
    }

    /// Parses the base64 body of an EST response (whitespace and line breaks are ignored).
    public init(base64Encoded text: String) throws {
        let compact = text.filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: compact) else {
            throw PKIError.malformed("EST response body is not valid base64")
        }
        try self.init(derEncoded: [UInt8](data))
    }
}
