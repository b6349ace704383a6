import Foundation

/// The status of one certificate in an OCSP response (RFC 6960 §4.2.1).
///
/// ```
/// CertStatus ::= CHOICE {
///     good        [0]     IMPLICIT NULL,
///     revoked     [1]     IMPLICIT RevokedInfo,
///     unknown     [2]     IMPLICIT UnknownInfo }
///
/// RevokedInfo ::= SEQUENCE {
///     revocationTime              GeneralizedTime,
///     revocationReason    [0]     EXPLICIT CRLReason OPTIONAL }
/// ```
public enum OCSPCertStatus: Hashable, Sendable {
    case good
    /// Revoked at `time` (whole seconds), with the reason if one was recorded.
    case revoked(time: Date, reason: RevocationReason?)
    case unknown

    /// Normalises times to whole seconds, as they are encoded.
    var normalised: OCSPCertStatus {
        if case .revoked(let time, let reason) = self {
            return .revoked(time: Date(timeIntervalSince1970: TimeInterval(DERTime.seconds(time))), reason: reason)
        }
        return self
    }

    func appendDER(to out: inout [UInt8]) {
        switch self {
        case .good: out += [DERTag.contextPrimitive(0), 0]
        case .unknown: out += [DERTag.contextPrimitive(2), 0]
        case .revoked(let time, let reason):
            var content: [UInt8] = []
            DERTime.appendGeneralizedTime(DERTime.seconds(time), to: &content)
            if let reason { content += [DERTag.contextConstructed(0), 3, DERTag.enumerated, 1, reason.rawValue] }
            CompactDER.appendTLV(tag: DERTag.contextConstructed(1), content: content, to: &out)
        }
    }

    init(decoding element: CompactDERReader.Element) throws {
        switch element.tag {
        case DERTag.contextPrimitive(0) where element.content.isEmpty: self = .good
        case DERTag.contextPrimitive(2) where element.content.isEmpty: self = .unknown
        case DERTag.contextConstructed(1):
            var reader = CompactDERReader(element.content)
            let time = try DERTime.decode(reader.read(tag: DERTag.generalizedTime, "revocationTime"), "revocationTime")
            var reason: RevocationReason?
            if let tagged = try reader.readIfPresent(tag: DERTag.contextConstructed(0), "revocationReason") {
                var inner = CompactDERReader(tagged.content)
                let code = try CompactDERReader.smallInteger(inner.read(tag: DERTag.enumerated, "CRLReason").content, "CRLReason")
                guard let parsed = RevocationReason(code: code) else { throw PKIError.malformed("undefined CRLReason \(code)") }
                reason = parsed
            }
            try reader.requireEnd("RevokedInfo")
            self = .revoked(time: time, reason: reason)
        default:
            throw PKIError.malformed("CertStatus: unexpected tag 0x\(String(element.tag, radix: 16))")
        }
    }
}
