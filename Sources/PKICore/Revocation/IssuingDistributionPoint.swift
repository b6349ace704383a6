/// The issuingDistributionPoint CRL extension (RFC 5280 §5.2.5), restricted to what Rootkeeper
/// publishes: a full-name URI for the distribution point and the "only user / only CA
/// certificates" scope flags. The extension is always marked critical, as §5.2.5 requires.
///
/// ```
/// id-ce-issuingDistributionPoint OBJECT IDENTIFIER ::= { id-ce 28 }
///
/// IssuingDistributionPoint ::= SEQUENCE {
///      distributionPoint          [0] DistributionPointName OPTIONAL,
///      onlyContainsUserCerts      [1] BOOLEAN DEFAULT FALSE,
///      onlyContainsCACerts        [2] BOOLEAN DEFAULT FALSE,
///      onlySomeReasons            [3] ReasonFlags OPTIONAL,
///      indirectCRL                [4] BOOLEAN DEFAULT FALSE,
///      onlyContainsAttributeCerts [5] BOOLEAN DEFAULT FALSE }
///
/// DistributionPointName ::= CHOICE {
///      fullName                [0]     GeneralNames,
///      nameRelativeToCRLIssuer [1]     RelativeDistinguishedName }
/// ```
public struct IssuingDistributionPoint: Hashable, Sendable {
    /// The URI the CRL is published at (a `uniformResourceIdentifier` GeneralName).
    public var uri: String
    /// The CRL covers only end-entity certificates.
    public var onlyContainsUserCerts: Bool
    /// The CRL covers only CA certificates.
    public var onlyContainsCACerts: Bool

    /// Throws `invalidParameter` for a URI that is not non-empty printable ASCII (IA5String
    /// without controls) or when both scope flags are set (§5.2.5 allows at most one).
    public init(uri: String, onlyContainsUserCerts: Bool = false, onlyContainsCACerts: Bool = false) throws {
        guard !uri.isEmpty, uri.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw PKIError.invalidParameter("issuing distribution point URI must be non-empty printable ASCII")
        }
        guard !(onlyContainsUserCerts && onlyContainsCACerts) else {
            throw PKIError.invalidParameter(
                "issuing distribution point: at most one of onlyContainsUserCerts and onlyContainsCACerts (RFC 5280 §5.2.5)")
        }
        self.uri = uri
        self.onlyContainsUserCerts = onlyContainsUserCerts
        self.onlyContainsCACerts = onlyContainsCACerts
    }

    static let oid = CompactDER.oid("2.5.29.28")

    /// The extnValue content (the DER of the IssuingDistributionPoint SEQUENCE).
    var derValue: [UInt8] {
        // [0] distributionPoint is EXPLICIT (a CHOICE), fullName [0] IMPLICIT GeneralNames,
        // uniformResourceIdentifier [6] IMPLICIT IA5String.
        let generalName = CompactDER.wrap(tag: DERTag.contextPrimitive(6), Array(uri.utf8))
        var content = CompactDER.wrap(
            tag: DERTag.contextConstructed(0), CompactDER.wrap(tag: DERTag.contextConstructed(0), generalName))
        if onlyContainsUserCerts { content += [DERTag.contextPrimitive(1), 1, 0xFF] }
        if onlyContainsCACerts { content += [DERTag.contextPrimitive(2), 1, 0xFF] }
        return CompactDER.wrap(tag: DERTag.sequence, content)
    }

    init(derValue: ArraySlice<UInt8>) throws {
        var outer = CompactDERReader(derValue)
        let sequence = try outer.read(tag: DERTag.sequence, "issuingDistributionPoint")
        try outer.requireEnd("issuingDistributionPoint")
        var reader = CompactDERReader(sequence.content)
        let point = try reader.read(tag: DERTag.contextConstructed(0), "issuingDistributionPoint.distributionPoint")
        var pointReader = CompactDERReader(point.content)
        let fullName = try pointReader.read(tag: DERTag.contextConstructed(0), "distributionPoint.fullName")
        var names = CompactDERReader(fullName.content)
        let uri = try names.read(tag: DERTag.contextPrimitive(6), "distributionPoint URI")
        try names.requireEnd("distributionPoint.fullName (only one URI is supported)")
        func flag(_ n: UInt8) throws -> Bool {
            guard let element = try reader.readIfPresent(tag: DERTag.contextPrimitive(n), "issuingDistributionPoint flag") else {
                return false
            }
            guard element.content.count == 1, element.content.first == 0xFF else {
                throw PKIError.malformed("issuingDistributionPoint: DEFAULT FALSE flags must be omitted or TRUE")
            }
            return true
        }
        let user = try flag(1)
        let ca = try flag(2)
        try reader.requireEnd("issuingDistributionPoint (only URI and user/CA scope are supported)")
        try self.init(uri: String(decoding: uri.content, as: UTF8.self), onlyContainsUserCerts: user, onlyContainsCACerts: ca)
    }
}
