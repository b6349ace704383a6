import Foundation
import SwiftASN1
import X509

/// The to-be-signed part of a v2 CRL (RFC 5280 §5.1.2), as Rootkeeper issues it.
///
/// ```
/// TBSCertList  ::=  SEQUENCE  {
///      version                 Version OPTIONAL,
///                                   -- if present, MUST be v2
///      signature               AlgorithmIdentifier,
///      issuer                  Name,
///      thisUpdate              Time,
///      nextUpdate              Time OPTIONAL,
///      revokedCertificates     SEQUENCE OF SEQUENCE  { ... }  OPTIONAL,
///      crlExtensions           [0]  EXPLICIT Extensions OPTIONAL
///                                   -- if present, version MUST be v2
///                           }
/// ```
///
/// Always v2, always with nextUpdate (§5.1.2.5: conforming CAs MUST include it), the
/// authorityKeyIdentifier (§5.2.1) and cRLNumber (§5.2.3) extensions, and optionally a
/// critical issuingDistributionPoint (§5.2.5). The initializer enforces only what is needed to
/// encode the value; policy (number order, dates, reasons, issuer match) is checked by the
/// lint rules in `Revocation/Lint`, which run before every signature.
public struct TBSCertList: Hashable, Sendable {
    /// The algorithm the issuer signs with; repeated in the TBS as `signature` (§5.1.2.2).
    public var signatureAlgorithm: Certificate.SignatureAlgorithm
    /// The CRL issuer's name; must equal the issuer certificate's subject (§5.1.2.3).
    public var issuer: DistinguishedName
    /// When this CRL was issued. Stored to whole seconds.
    public var thisUpdate: Date
    /// When the next CRL will be issued at the latest. Stored to whole seconds.
    public var nextUpdate: Date
    /// The entries. Empty means the field is absent (§5.1.2.6).
    public var revokedCertificates: [RevokedCertificate]
    /// The cRLNumber (§5.2.3).
    public var crlNumber: CRLNumber
    /// The authorityKeyIdentifier keyIdentifier: the issuer certificate's SKI (§5.2.1).
    public var authorityKeyIdentifier: [UInt8]
    /// Optional critical issuingDistributionPoint (§5.2.5).
    public var issuingDistributionPoint: IssuingDistributionPoint?

    /// Creates a TBSCertList. Throws `invalidParameter` for an empty authority key identifier.
    public init(
        signatureAlgorithm: Certificate.SignatureAlgorithm,
        issuer: DistinguishedName,
        thisUpdate: Date,
        nextUpdate: Date,
        revokedCertificates: [RevokedCertificate] = [],
        crlNumber: CRLNumber,
        authorityKeyIdentifier: [UInt8],
        issuingDistributionPoint: IssuingDistributionPoint? = nil
    ) throws {
        guard !authorityKeyIdentifier.isEmpty else {
            throw PKIError.invalidParameter("CRL authority key identifier must not be empty (RFC 5280 §5.2.1)")
        }
        _ = try SignatureAlgorithmDER.encode(signatureAlgorithm)
        self.signatureAlgorithm = signatureAlgorithm
        self.issuer = issuer
        self.thisUpdate = Date(timeIntervalSince1970: TimeInterval(DERTime.seconds(thisUpdate)))
        self.nextUpdate = Date(timeIntervalSince1970: TimeInterval(DERTime.seconds(nextUpdate)))
        self.revokedCertificates = revokedCertificates
        self.crlNumber = crlNumber
        self.authorityKeyIdentifier = authorityKeyIdentifier
        self.issuingDistributionPoint = issuingDistributionPoint
    }

    /// Creates a TBSCertList for `issuerCertificate`: issuer name from its subject, AKI from its
    /// subjectKeyIdentifier, signature algorithm from `signingKey` unless given.
    /// Throws `invalidParameter` when the certificate has no subjectKeyIdentifier.
    public init(
        issuerCertificate: Certificate,
        signingKey: Certificate.PublicKey? = nil,
        signatureAlgorithm: Certificate.SignatureAlgorithm? = nil,
        thisUpdate: Date,
        nextUpdate: Date,
        revokedCertificates: [RevokedCertificate] = [],
        crlNumber: CRLNumber,
        issuingDistributionPoint: IssuingDistributionPoint? = nil
    ) throws {
        let ski: SubjectKeyIdentifier?
        do { ski = try issuerCertificate.extensions.subjectKeyIdentifier } catch {
            throw PKIError.invalidParameter("CRL issuer certificate has a malformed subjectKeyIdentifier: \(error)")
        }
        guard let ski else { throw PKIError.invalidParameter("CRL issuer certificate has no subjectKeyIdentifier") }
        try self.init(
            signatureAlgorithm: try signatureAlgorithm
                ?? SignatureAlgorithmDER.defaultAlgorithm(for: signingKey ?? issuerCertificate.publicKey),
            issuer: issuerCertificate.subject, thisUpdate: thisUpdate, nextUpdate: nextUpdate,
            revokedCertificates: revokedCertificates, crlNumber: crlNumber,
            authorityKeyIdentifier: Array(ski.keyIdentifier), issuingDistributionPoint: issuingDistributionPoint)
    }
}

extension TBSCertList {
    static let akiOID = CompactDER.oid("2.5.29.35")
    static let crlNumberOID = CompactDER.oid("2.5.29.20")

    /// version (v2 = 1), signature, issuer, thisUpdate, nextUpdate: everything before the entries.
    func encodedPrefix() throws -> [UInt8] {
        var out: [UInt8] = [DERTag.integer, 1, 1]
        out += try SignatureAlgorithmDER.encode(signatureAlgorithm)
        var serializer = DER.Serializer()
        try serializer.serialize(issuer)
        out += serializer.serializedBytes
        DERTime.appendX509Time(DERTime.seconds(thisUpdate), to: &out)
        DERTime.appendX509Time(DERTime.seconds(nextUpdate), to: &out)
        return out
    }

    /// `[0] EXPLICIT Extensions`: authorityKeyIdentifier, cRLNumber, issuingDistributionPoint.
    func encodedExtensions() -> [UInt8] {
        func ext(_ oid: [UInt8], critical: Bool, _ value: [UInt8]) -> [UInt8] {
            CompactDER.wrap(
                tag: DERTag.sequence,
                oid + (critical ? [DERTag.boolean, 1, 0xFF] : []) + CompactDER.wrap(tag: DERTag.octetString, value))
        }
        // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT KeyIdentifier OPTIONAL, ... }
        let aki = CompactDER.wrap(
            tag: DERTag.sequence, CompactDER.wrap(tag: DERTag.contextPrimitive(0), authorityKeyIdentifier))
        var number: [UInt8] = []
        CompactDER.appendUnsignedInteger(crlNumber.magnitude[...], to: &number)
        var extensions = ext(Self.akiOID, critical: false, aki) + ext(Self.crlNumberOID, critical: false, number)
        if let idp = issuingDistributionPoint {
            extensions += ext(IssuingDistributionPoint.oid, critical: true, idp.derValue)
        }
        return CompactDER.wrap(tag: DERTag.contextConstructed(0), CompactDER.wrap(tag: DERTag.sequence, extensions))
    }
}
