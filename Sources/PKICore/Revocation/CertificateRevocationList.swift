import Foundation
import SwiftASN1
import X509

/// A signed v2 CRL (RFC 5280 §5.1), decoded from DER or PEM.
///
/// ```
/// CertificateList  ::=  SEQUENCE  {
///      tbsCertList          TBSCertList,
///      signatureAlgorithm   AlgorithmIdentifier,
///      signatureValue       BIT STRING  }
/// ```
///
/// The decoder is strict DER and walks the entries without building a node tree, so a CRL
/// with a million entries decodes in one pass. It accepts the CRLs Rootkeeper issues (and any
/// CRL of that shape): v2, nextUpdate present, authorityKeyIdentifier and cRLNumber present;
/// an unrecognised critical extension is an error (§5.2).
public struct CertificateRevocationList: Hashable, Sendable {
    /// What was signed.
    public let tbsCertList: TBSCertList
    /// The outer signatureAlgorithm; must equal `tbsCertList.signatureAlgorithm` (§5.1.1.2).
    public let signatureAlgorithm: Certificate.SignatureAlgorithm
    /// The signature bits (for ECDSA, the DER Ecdsa-Sig-Value).
    public let signatureBytes: [UInt8]
    /// The complete DER encoding.
    public let derEncoded: [UInt8]
    /// Range of the TBSCertList inside ``derEncoded``.
    let tbsRange: Range<Int>

    /// The exact TBSCertList bytes that were signed.
    public var tbsBytes: ArraySlice<UInt8> { derEncoded[tbsRange] }

    /// Decodes a DER CRL. Throws `malformedInput` for anything that is not one.
    public init(derEncoded bytes: [UInt8]) throws {
        var top = CompactDERReader(bytes[...])
        let certificateList = try top.read(tag: DERTag.sequence, "CertificateList")
        try top.requireEnd("CertificateList")
        var outer = CompactDERReader(certificateList.content)
        let tbs = try outer.read(tag: DERTag.sequence, "TBSCertList")
        let algorithm = try SignatureAlgorithmDER.decode(outer.read("signatureAlgorithm"))
        let bitString = try outer.read(tag: DERTag.bitString, "signatureValue")
        try outer.requireEnd("CertificateList")
        guard bitString.content.first == 0 else { throw PKIError.malformed("signatureValue: unused bits must be 0") }

        self.tbsCertList = try Self.decodeTBS(tbs.content)
        guard tbsCertList.signatureAlgorithm == algorithm else {
            throw PKIError.malformed("CRL signatureAlgorithm differs from the TBSCertList signature field (RFC 5280 §5.1.1.2)")
        }
        self.signatureAlgorithm = algorithm
        self.signatureBytes = Array(bitString.content.dropFirst())
        self.derEncoded = bytes
        self.tbsRange = tbs.encoded.startIndex..<tbs.encoded.endIndex
    }

    /// Decodes a PEM CRL (`-----BEGIN X509 CRL-----`).
    public init(pemEncoded pem: String) throws {
        let document: PEMDocument
        do { document = try PEMDocument(pemString: pem) } catch {
            throw PKIError.malformed("CRL PEM: \(error)")
        }
        guard document.discriminator == Self.pemDiscriminator else {
            throw PKIError.malformed("CRL PEM: expected \(Self.pemDiscriminator), found \(document.discriminator)")
        }
        try self.init(derEncoded: document.derBytes)
    }

    /// The PEM label for CRLs (RFC 7468 §6).
    public static let pemDiscriminator = "X509 CRL"

    /// The CRL as PEM.
    public var pemEncoded: String { PEMDocument(type: Self.pemDiscriminator, derBytes: derEncoded).pemString }

    /// Whether the signature verifies with `issuer`'s public key and the CRL names `issuer`'s
    /// subject as its issuer.
    public func isSignatureValid(for issuer: Certificate) -> Bool {
        tbsCertList.issuer == issuer.subject
            && issuer.publicKey.isValidSignature(signatureBytes, for: tbsBytes, signatureAlgorithm: signatureAlgorithm)
    }

    /// Throws `invalidSignature` unless ``isSignatureValid(for:)``.
    public func verifySignature(issuer: Certificate) throws {
        guard isSignatureValid(for: issuer) else {
            throw PKIError.invalidSignature("CRL signature does not verify with the key of \(issuer.subject)")
        }
    }

    private static func decodeTBS(_ content: ArraySlice<UInt8>) throws -> TBSCertList {
        var reader = CompactDERReader(content)
        let version = try reader.read(tag: DERTag.integer, "TBSCertList.version (v2 required)")
        guard version.content.elementsEqual([1]) else { throw PKIError.malformed("CRL version must be v2") }
        let algorithm = try SignatureAlgorithmDER.decode(reader.read("TBSCertList.signature"))
        let issuerElement = try reader.read(tag: DERTag.sequence, "TBSCertList.issuer")
        let issuer: DistinguishedName
        do { issuer = try DistinguishedName(derEncoded: DER.parse(issuerElement.encoded)) } catch {
            throw PKIError.malformed("CRL issuer name: \(error)")
        }
        let thisUpdate = try DERTime.decode(reader.read("thisUpdate"), "thisUpdate")
        guard reader.peekTag == DERTag.utcTime || reader.peekTag == DERTag.generalizedTime else {
            throw PKIError.malformed("CRL has no nextUpdate (RFC 5280 §5.1.2.5)")
        }
        let nextUpdate = try DERTime.decode(reader.read("nextUpdate"), "nextUpdate")
        var entries: [RevokedCertificate] = []
        if let list = try reader.readIfPresent(tag: DERTag.sequence, "revokedCertificates") {
            var listReader = CompactDERReader(list.content)
            while !listReader.isAtEnd {
                entries.append(try RevokedCertificate(decoding: listReader.read("revokedCertificates entry")))
            }
        }
        let extensionsTag = try reader.read(tag: DERTag.contextConstructed(0), "crlExtensions")
        try reader.requireEnd("TBSCertList")
        var wrapper = CompactDERReader(extensionsTag.content)
        let extensions = try wrapper.read(tag: DERTag.sequence, "crlExtensions")
        try wrapper.requireEnd("crlExtensions")

        var aki: [UInt8]?
        var number: CRLNumber?
        var idp: IssuingDistributionPoint?
        var extReader = CompactDERReader(extensions.content)
        while !extReader.isAtEnd {
            let ext = try DERExtension(extReader.read(tag: DERTag.sequence, "CRL extension"))
            var value = CompactDERReader(ext.value)
            if ext.oid == TBSCertList.akiOID[...] {
                var akiReader = try CompactDERReader(value.read(tag: DERTag.sequence, "authorityKeyIdentifier").content)
                guard let keyID = try akiReader.readIfPresent(tag: DERTag.contextPrimitive(0), "keyIdentifier") else {
                    throw PKIError.malformed("CRL authorityKeyIdentifier has no keyIdentifier")
                }
                aki = Array(keyID.content)
            } else if ext.oid == TBSCertList.crlNumberOID[...] {
                let integer = try value.read(tag: DERTag.integer, "cRLNumber")
                number = try CRLNumber(magnitude: CompactDERReader.unsignedMagnitude(integer.content, "cRLNumber"))
            } else if ext.oid == IssuingDistributionPoint.oid[...] {
                idp = try IssuingDistributionPoint(derValue: ext.value)
            } else if ext.critical {
                throw PKIError.malformed("CRL has an unrecognised critical extension (RFC 5280 §5.2)")
            }
        }
        guard let aki else { throw PKIError.malformed("CRL has no authorityKeyIdentifier (RFC 5280 §5.2.1)") }
        guard let number else { throw PKIError.malformed("CRL has no cRLNumber (RFC 5280 §5.2.3)") }
        return try TBSCertList(
            signatureAlgorithm: algorithm, issuer: issuer, thisUpdate: thisUpdate, nextUpdate: nextUpdate,
            revokedCertificates: entries, crlNumber: number, authorityKeyIdentifier: aki,
            issuingDistributionPoint: idp)
    }
}
