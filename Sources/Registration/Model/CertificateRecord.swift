import Foundation
import PKICore

/// One certificate the CA has issued or is about to issue. The row exists *before* signing
/// (status ``Status-swift.enum/reserved``, docs/conventions.md#signing-path), so a crash never leaves a certificate the
/// database does not know and never lets a serial be reused.
public struct CertificateRecord: Hashable, Sendable, Codable {
    /// What profile the certificate was issued under (docs/profiles.md); a metrics label.
    public enum CertificateType: String, Hashable, Sendable, Codable, CaseIterable {
        case agent
        case server
        case ocspSigner
        case admin
    }

    /// Where the certificate is in its life.
    public enum Status: String, Hashable, Sendable, Codable, CaseIterable {
        /// Serial reserved and TBS recorded; signing has not been confirmed.
        case reserved
        /// Signed and recorded.
        case issued
        /// Replaced by a renewal; still valid until revoked by policy or expiry.
        case superseded
        case revoked
    }

    /// Serial number: lower-case hex of the DER INTEGER content bytes (so leading 00 is kept).
    public var serial: String
    /// Subject key identifier of the issuing CA, lower-case hex.
    public var issuerSKI: String
    public var type: CertificateType
    /// The subject, RFC 4514 string form.
    public var subject: String
    public var notBefore: Date
    public var notAfter: Date
    public var status: Status
    public var agentID: AgentID?
    /// The certificate this one renewed (lineage).
    public var predecessorSerial: String?
    /// SHA-256 of the to-be-signed bytes recorded at reservation, lower-case hex.
    public var tbsSHA256: String
    /// The signed certificate; `nil` while reserved.
    public var certificateDER: [UInt8]?
    public var reservedAt: Date
    public var issuedAt: Date?
    public var supersededAt: Date?

    public init(
        serial: String, issuerSKI: String, type: CertificateType, subject: String, notBefore: Date, notAfter: Date,
        status: Status = .reserved, agentID: AgentID? = nil, predecessorSerial: String? = nil, tbsSHA256: String,
        certificateDER: [UInt8]? = nil, reservedAt: Date, issuedAt: Date? = nil, supersededAt: Date? = nil
    ) {
        self.serial = serial
        self.issuerSKI = issuerSKI
        self.type = type
        self.subject = subject
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.status = status
        self.agentID = agentID
        self.predecessorSerial = predecessorSerial
        self.tbsSHA256 = tbsSHA256
        self.certificateDER = certificateDER
        self.reservedAt = reservedAt
        self.issuedAt = issuedAt
        self.supersededAt = supersededAt
    }

    /// Whether the certificate is inside its validity period at `now` (RFC 5280 §4.1.2.5: both ends inclusive).
    public func isWithinValidity(at now: Date) -> Bool { notBefore <= now && now <= notAfter }

    /// The canonical serial string for DER INTEGER content bytes.
    public static func serialHex(contentBytes: some Sequence<UInt8>) -> String { Hex.encode(contentBytes) }
}

/// Number of certificates of one type in one status (for `rootkeeper_certificates_active`).
public struct CertificateCount: Hashable, Sendable {
    public var type: CertificateRecord.CertificateType
    public var status: CertificateRecord.Status
    public var count: Int

    public init(type: CertificateRecord.CertificateType, status: CertificateRecord.Status, count: Int) {
        self.type = type
        self.status = status
        self.count = count
    }
}
