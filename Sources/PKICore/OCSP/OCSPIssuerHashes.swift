import X509

/// The issuerNameHash / issuerKeyHash pair of one CA under SHA-1 and SHA-256, so a responder
/// can tell whether a CertID names a certificate of this CA (RFC 6960 §4.1.1: the name hash is
/// over the DER of the issuer's distinguished name, the key hash over the value of the BIT
/// STRING subjectPublicKey, excluding tag, length and unused-bits octet).
public struct OCSPIssuerHashes: Hashable, Sendable {
    /// The CA certificate these hashes describe.
    public let issuer: Certificate
    private let hashes: [OCSPHashAlgorithm: (name: [UInt8], key: [UInt8])]

    public init(issuer: Certificate) throws {
        let name = try Self.subjectBytes(of: issuer)
        let key = issuer.publicKey.subjectPublicKeyInfoBytes
        var hashes: [OCSPHashAlgorithm: (name: [UInt8], key: [UInt8])] = [:]
        for algorithm in OCSPHashAlgorithm.allCases {
            hashes[algorithm] = (algorithm.hash(name), algorithm.hash(key))
        }
        self.issuer = issuer
        self.hashes = hashes
    }

    /// issuerNameHash under `algorithm`.
    public func issuerNameHash(_ algorithm: OCSPHashAlgorithm) -> [UInt8] { hashes[algorithm]?.name ?? [] }
    /// issuerKeyHash under `algorithm`.
    public func issuerKeyHash(_ algorithm: OCSPHashAlgorithm) -> [UInt8] { hashes[algorithm]?.key ?? [] }

    /// Whether `certID` is for a certificate issued by this CA.
    public func matches(_ certID: OCSPCertID) -> Bool {
        certID.issuerNameHash == issuerNameHash(certID.hashAlgorithm)
            && certID.issuerKeyHash == issuerKeyHash(certID.hashAlgorithm)
    }

    /// The CertID for `serialNumber` under this CA.
    public func certID(serialNumber: Certificate.SerialNumber, hashAlgorithm: OCSPHashAlgorithm = .sha1) throws -> OCSPCertID {
        try OCSPCertID(
            hashAlgorithm: hashAlgorithm, issuerNameHash: issuerNameHash(hashAlgorithm),
            issuerKeyHash: issuerKeyHash(hashAlgorithm), serialNumber: serialNumber)
    }

    /// The subject Name exactly as encoded in the certificate's TBSCertificate (RFC 5280
    /// §4.1): clients hash those bytes, so a re-encoding could differ from what they send.
    private static func subjectBytes(of certificate: Certificate) throws -> ArraySlice<UInt8> {
        var outer = CompactDERReader(certificate.tbsCertificateBytes)
        var reader = try CompactDERReader(outer.read(tag: DERTag.sequence, "TBSCertificate").content)
        _ = try reader.readIfPresent(tag: DERTag.contextConstructed(0), "TBSCertificate.version")
        for field in ["serialNumber", "signature", "issuer", "validity"] { _ = try reader.read("TBSCertificate.\(field)") }
        return try reader.read(tag: DERTag.sequence, "TBSCertificate.subject").encoded
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.issuer == rhs.issuer }
    public func hash(into hasher: inout Hasher) { hasher.combine(issuer) }
}
