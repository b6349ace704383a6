import Foundation
import PKICore

/// CRLReason codes, RFC 5280 §5.3.1: the one definition in PKICore, which also encodes them in
/// CRLs and OCSP responses, so a stored reason is the encoded reason.
public typealias RevocationReason = PKICore.RevocationReason

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
/// a store that cannot look throws (docs/conventions.md#fail-closed).
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
