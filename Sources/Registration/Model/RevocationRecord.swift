import Foundation

/// CRLReason codes, RFC 5280 §5.3.1 (value 7 is unused by the RFC).
public enum RevocationReason: Int, Hashable, Sendable, Codable, CaseIterable {
    case unspecified = 0
    case keyCompromise = 1
    case cACompromise = 2
    case affiliationChanged = 3
    case superseded = 4
    case cessationOfOperation = 5
    case certificateHold = 6
    case removeFromCRL = 8
    case privilegeWithdrawn = 9
    case aACompromise = 10

    /// The name used in metrics labels and logs (the RFC's identifier).
    public var name: String { String(describing: self) }
}

/// One revoked certificate, as it appears in the issuer's CRL (RFC 5280 §5.1.2.6, §5.3).
public struct RevocationRecord: Hashable, Sendable, Codable {
    /// Serial, lower-case hex of the DER INTEGER content bytes.
    public var serial: String
    /// Subject key identifier of the issuing CA, lower-case hex; CRLs are per issuer.
    public var issuerSKI: String
    public var revokedAt: Date
    /// `nil` omits the reasonCode entry extension (RFC 5280 §5.3.1 recommends omitting "unspecified").
    public var reason: RevocationReason?
    /// RFC 5280 §5.3.2 invalidity date, when known to be earlier than `revokedAt`.
    public var invalidityDate: Date?

    public init(serial: String, issuerSKI: String, revokedAt: Date, reason: RevocationReason?, invalidityDate: Date? = nil) {
        self.serial = serial
        self.issuerSKI = issuerSKI
        self.revokedAt = revokedAt
        self.reason = reason
        self.invalidityDate = invalidityDate
    }
}

/// The answer to "is this serial revoked?". There is no answer that does not come from a lookup:
/// a store that cannot look throws (STYLE §15).
public enum RevocationStatus: Hashable, Sendable {
    /// The store knows the certificate and holds no revocation for it.
    case notRevoked(CertificateRecord)
    case revoked(RevocationRecord)
    /// No certificate with that serial was ever reserved or issued here.
    case unknown
}

/// The result of a revocation request: revocation is idempotent per serial, and the first
/// revocation's time and reason stand.
public struct RevocationResult: Hashable, Sendable {
    /// The revocation in force.
    public var record: RevocationRecord
    /// `false` when the serial was already revoked.
    public var newlyRevoked: Bool

    public init(record: RevocationRecord, newlyRevoked: Bool) {
        self.record = record
        self.newlyRevoked = newlyRevoked
    }
}
