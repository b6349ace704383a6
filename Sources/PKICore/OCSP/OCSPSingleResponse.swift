import Foundation

/// The status of one certificate with its validity interval (RFC 6960 §4.2.1).
///
/// ```
/// SingleResponse ::= SEQUENCE {
///     certID                       CertID,
///     certStatus                   CertStatus,
///     thisUpdate                   GeneralizedTime,
///     nextUpdate         [0]       EXPLICIT GeneralizedTime OPTIONAL,
///     singleExtensions   [1]       EXPLICIT Extensions OPTIONAL }
/// ```
///
/// The DER is computed once in the initializer: a responder keeps these per serial and signs a
/// new ResponseData around the cached bytes when a nonce forces a fresh response.
public struct OCSPSingleResponse: Hashable, Sendable {
    public let certID: OCSPCertID
    public let status: OCSPCertStatus
    /// Whole seconds.
    public let thisUpdate: Date
    /// Whole seconds; nil when newer information is always available (§4.2.2.1).
    public let nextUpdate: Date?
    /// The encoded SingleResponse.
    public let derEncoded: [UInt8]

    /// Throws `invalidParameter` when nextUpdate is not after thisUpdate.
    public init(certID: OCSPCertID, status: OCSPCertStatus, thisUpdate: Date, nextUpdate: Date?) throws {
        let thisSeconds = DERTime.seconds(thisUpdate)
        let nextSeconds = nextUpdate.map(DERTime.seconds)
        if let nextSeconds, nextSeconds <= thisSeconds {
            throw PKIError.invalidParameter("OCSP nextUpdate must be after thisUpdate")
        }
        self.certID = certID
        self.status = status.normalised
        self.thisUpdate = Date(timeIntervalSince1970: TimeInterval(thisSeconds))
        self.nextUpdate = nextSeconds.map { Date(timeIntervalSince1970: TimeInterval($0)) }
        var content = certID.derEncoded
        status.appendDER(to: &content)
        DERTime.appendGeneralizedTime(thisSeconds, to: &content)
        if let nextSeconds {
            content += [DERTag.contextConstructed(0), 17]
            DERTime.appendGeneralizedTime(nextSeconds, to: &content)
        }
        self.derEncoded = CompactDER.wrap(tag: DERTag.sequence, content)
    }

    init(decoding element: CompactDERReader.Element) throws {
        guard element.tag == DERTag.sequence else { throw PKIError.malformed("SingleResponse: expected SEQUENCE") }
        var reader = CompactDERReader(element.content)
        let certID = try OCSPCertID(decoding: reader.read("SingleResponse.certID"))
        let status = try OCSPCertStatus(decoding: reader.read("SingleResponse.certStatus"))
        let thisUpdate = try DERTime.decode(reader.read(tag: DERTag.generalizedTime, "thisUpdate"), "thisUpdate")
        var nextUpdate: Date?
        if let tagged = try reader.readIfPresent(tag: DERTag.contextConstructed(0), "nextUpdate") {
            var inner = CompactDERReader(tagged.content)
            nextUpdate = try DERTime.decode(inner.read(tag: DERTag.generalizedTime, "nextUpdate"), "nextUpdate")
        }
        _ = try reader.readIfPresent(tag: DERTag.contextConstructed(1), "singleExtensions")
        try reader.requireEnd("SingleResponse")
        do { try self.init(certID: certID, status: status, thisUpdate: thisUpdate, nextUpdate: nextUpdate) } catch let error as PKIError {
            throw PKIError.malformed(error.reason)
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.derEncoded == rhs.derEncoded }
    public func hash(into hasher: inout Hasher) { hasher.combine(derEncoded) }
}
