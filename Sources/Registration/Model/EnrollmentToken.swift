import Crypto
import Foundation
import PKICore

/// A one-time enrolment token. Only the SHA-256 of the token is stored, so a copy of the database
/// does not hand out enrolments.
public struct EnrollmentToken: Hashable, Sendable, Codable {
    /// SHA-256 of the token's UTF-8 bytes, lower-case hex.
    public var tokenSHA256: String
    /// If set, the token may only enrol this hostname.
    public var hostname: String?
    public var created: Date
    public var expires: Date
    /// When the token was used; a consumed token never enrols again.
    public var consumedAt: Date?
    /// Who created the token (administrator), for the audit trail.
    public var createdBy: String
    /// The serial of the certificate reservation the token paid for, once consumed; cleared when
    /// that reservation is released (the token is then usable again).
    public var reservedSerial: String?

    public init(
        tokenSHA256: String, hostname: String?, created: Date, expires: Date, consumedAt: Date? = nil, createdBy: String,
        reservedSerial: String? = nil
    ) {
        self.tokenSHA256 = tokenSHA256
        self.hostname = hostname
        self.created = created
        self.expires = expires
        self.consumedAt = consumedAt
        self.createdBy = createdBy
        self.reservedSerial = reservedSerial
    }

    /// The stored digest of a presented token.
    public static func digest(of token: String) -> String {
        Hex.encode(Array(SHA256.hash(data: Array(token.utf8))))
    }

    /// Why a token cannot be used for `hostname` at `now`, or `nil` if it can.
    public func unusableReason(hostname requested: String, at now: Date) -> String? {
        if consumedAt != nil { return "enrolment token was already used" }
        if now >= expires { return "enrolment token expired" }
        // Host names compare case-insensitively (RFC 4343 §3).
        if let bound = hostname, NameSyntax.asciiLowercased(bound) != NameSyntax.asciiLowercased(requested) {
            return "enrolment token is bound to another hostname"
        }
        return nil
    }
}
