import Foundation

/// An enrolment request that arrived without a token and waits for an administrator
/// (docs/endpoints.md#est-simpleenroll, RFC 7030 §4.2.3: answered 202 + Retry-After until decided).
public struct PendingRegistration: Hashable, Sendable, Codable {
    /// Where the registration is in its life.
    public enum Status: String, Hashable, Sendable, Codable, CaseIterable {
        case pending
        case approved
        case rejected
    }

    public var id: UUID
    public var hostname: String
    public var agentID: AgentID
    public var csrDER: [UInt8]
    /// SHA-256 of the request's SubjectPublicKeyInfo, lower-case hex.
    public var spkiSHA256: String
    /// The client address the request came from, for the administrator's review.
    public var sourceAddress: String?
    public var status: Status
    /// Why it was rejected (or a note on approval).
    public var reason: String?
    /// The administrator who approved or rejected it.
    public var decidedBy: String?
    public var created: Date
    public var decidedAt: Date?
    /// The serial (hex) of the certificate issued for this registration, once issued.
    public var issuedSerial: String?

    public init(
        id: UUID, hostname: String, agentID: AgentID, csrDER: [UInt8], spkiSHA256: String,
        sourceAddress: String?, status: Status = .pending, reason: String? = nil, decidedBy: String? = nil,
        created: Date, decidedAt: Date? = nil, issuedSerial: String? = nil
    ) {
        self.id = id
        self.hostname = hostname
        self.agentID = agentID
        self.csrDER = csrDER
        self.spkiSHA256 = spkiSHA256
        self.sourceAddress = sourceAddress
        self.status = status
        self.reason = reason
        self.decidedBy = decidedBy
        self.created = created
        self.decidedAt = decidedAt
        self.issuedSerial = issuedSerial
    }

    /// Open registrations hold their hostname: at most one per hostname may be open at a time.
    public var isOpen: Bool { status == .pending || (status == .approved && issuedSerial == nil) }

    /// Whether `identity` is the same request resubmitted (same hostname, UUID and key).
    public func matches(_ identity: RequestIdentity) -> Bool {
        hostname == identity.hostname && agentID == identity.agentID && spkiSHA256 == identity.spkiSHA256
    }
}
