import Foundation
import X509

/// One entry of a CRL (RFC 5280 §5.1.2.6, entry extensions §5.3).
///
/// ```
/// revokedCertificates     SEQUENCE OF SEQUENCE  {
///      userCertificate         CertificateSerialNumber,
///      revocationDate          Time,
///      crlEntryExtensions      Extensions OPTIONAL
///                               -- if present, version MUST be v2
///                           }  OPTIONAL,
/// ```
///
/// Extensions written: reasonCode (2.5.29.21, §5.3.1) when ``reason`` is set, and
/// invalidityDate (2.5.29.24, §5.3.2, GeneralizedTime) when ``invalidityDate`` is set.
/// Dates are kept to whole seconds, as they are encoded.
public struct RevokedCertificate: Hashable, Sendable {
    /// The serial number of the revoked certificate (at most 20 octets, RFC 5280 §4.1.2.2).
    public var serialNumber: Certificate.SerialNumber
    /// When the revocation took effect.
    public var revocationDate: Date
    /// The reason, or nil to omit the reasonCode extension (which means "unspecified").
    public var reason: RevocationReason?
    /// When the key is known or suspected to have been compromised, if earlier than the
    /// revocation.
    public var invalidityDate: Date?

    /// Creates an entry. Throws `invalidParameter` for a serial number longer than 20 octets.
    public init(
        serialNumber: Certificate.SerialNumber,
        revocationDate: Date,
        reason: RevocationReason? = nil,
        invalidityDate: Date? = nil
    ) throws {
        guard serialNumber.bytes.count <= 20 else {
            throw PKIError.invalidParameter("serial number longer than 20 octets (RFC 5280 §4.1.2.2)")
        }
        self.serialNumber = serialNumber
        self.revocationDate = Date(timeIntervalSince1970: TimeInterval(DERTime.seconds(revocationDate)))
        self.reason = reason
        self.invalidityDate = invalidityDate.map { Date(timeIntervalSince1970: TimeInterval(DERTime.seconds($0))) }
    }
}

extension RevokedCertificate {
    /// `Extension { reasonCode, ENUMERATED n }` pre-encoded for every reason.
    private static let reasonExtensions: [[UInt8]] = (0...10).map { code in
        let value = CompactDER.wrap(tag: DERTag.enumerated, CompactDER.smallIntegerContent(UInt8(code)))
        return CompactDER.wrap(tag: DERTag.sequence, CompactDER.oid("2.5.29.21") + CompactDER.wrap(tag: DERTag.octetString, value))
    }
    static let reasonCodeOID = CompactDER.oid("2.5.29.21")
    static let invalidityDateOID = CompactDER.oid("2.5.29.24")
    /// Size of the invalidityDate Extension TLV: SEQUENCE { OID(5), OCTET STRING { GeneralizedTime(17) } }.
    private static let invalidityExtensionSize = 2 + 5 + 2 + 17

    /// Appends the DER of this entry to `out` (one pass, lengths computed up front).
    @inline(__always)
    func appendDER(to out: inout [UInt8]) {
        let serialContent = CompactDER.unsignedIntegerContentLength(serialNumber.bytes)
        let revocationSeconds = DERTime.seconds(revocationDate)
        var extensionsContent = 0
        if let reason { extensionsContent += Self.reasonExtensions[Int(reason.rawValue)].count }
        if invalidityDate != nil { extensionsContent += Self.invalidityExtensionSize }
        var content = CompactDER.tlvSize(serialContent) + DERTime.x509TimeSize(revocationSeconds)
        if extensionsContent > 0 { content += CompactDER.tlvSize(extensionsContent) }

        CompactDER.appendHeader(tag: DERTag.sequence, length: content, to: &out)
        CompactDER.appendUnsignedInteger(serialNumber.bytes, to: &out)
        DERTime.appendX509Time(revocationSeconds, to: &out)
        guard extensionsContent > 0 else { return }
        CompactDER.appendHeader(tag: DERTag.sequence, length: extensionsContent, to: &out)
        if let reason { out.append(contentsOf: Self.reasonExtensions[Int(reason.rawValue)]) }
        if let invalidityDate {
            out.append(contentsOf: [DERTag.sequence, UInt8(Self.invalidityExtensionSize - 2)])
            out.append(contentsOf: Self.invalidityDateOID)
            out.append(contentsOf: [DERTag.octetString, 17])
            DERTime.appendGeneralizedTime(DERTime.seconds(invalidityDate), to: &out)
        }
    }

    /// Decodes one entry from its SEQUENCE element.
    init(decoding element: CompactDERReader.Element) throws {
        guard element.tag == DERTag.sequence else { throw PKIError.malformed("CRL entry: expected SEQUENCE") }
        var reader = CompactDERReader(element.content)
        let serial = try CompactDERReader.unsignedMagnitude(
            reader.read(tag: DERTag.integer, "CRL entry serial").content, "CRL entry serial")
        let date = try DERTime.decode(reader.read("CRL entry revocationDate"), "CRL entry revocationDate")
        var reason: RevocationReason?
        var invalidity: Date?
        if let extensions = try reader.readIfPresent(tag: DERTag.sequence, "CRL entry extensions") {
            var extReader = CompactDERReader(extensions.content)
            while !extReader.isAtEnd {
                let ext = try DERExtension(extReader.read(tag: DERTag.sequence, "CRL entry extension"))
                var value = CompactDERReader(ext.value)
                if ext.oid == Self.reasonCodeOID[...] {
                    let enumerated = try value.read(tag: DERTag.enumerated, "reasonCode")
                    let code = try CompactDERReader.smallInteger(enumerated.content, "reasonCode")
                    guard let parsed = RevocationReason(code: code) else {
                        throw PKIError.malformed("CRL entry: reason code \(code) is not defined (RFC 5280 §5.3.1)")
                    }
                    reason = parsed
                } else if ext.oid == Self.invalidityDateOID[...] {
                    let time = try value.read(tag: DERTag.generalizedTime, "invalidityDate")
                    invalidity = try DERTime.decode(time, "invalidityDate")
                } else if ext.critical {
                    throw PKIError.malformed("CRL entry: unrecognised critical extension (RFC 5280 §5.3)")
                }
            }
        }
        try reader.requireEnd("CRL entry")
        try self.init(
            serialNumber: Certificate.SerialNumber(bytes: serial), revocationDate: date,
            reason: reason, invalidityDate: invalidity)
    }
}

/// A decoded `Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }`
/// (RFC 5280 §4.1), with the OID kept as its encoded TLV for cheap comparison.
struct DERExtension {
    let oid: ArraySlice<UInt8>
    let critical: Bool
    let value: ArraySlice<UInt8>

    init(_ element: CompactDERReader.Element) throws {
        var reader = CompactDERReader(element.content)
        oid = try reader.read(tag: DERTag.oid, "extension OID").encoded
        if let flag = try reader.readIfPresent(tag: DERTag.boolean, "extension critical flag") {
            // DER: DEFAULT FALSE must be omitted, so only TRUE (0xFF) may appear (X.690 §11.5).
            guard flag.content.count == 1, flag.content.first == 0xFF else {
                throw PKIError.malformed("extension critical flag must be omitted or TRUE")
            }
            critical = true
        } else {
            critical = false
        }
        value = try reader.read(tag: DERTag.octetString, "extension value").content
        try reader.requireEnd("extension")
    }
}
