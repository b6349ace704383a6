import Foundation

/// A new agent's enrolment request as it reached the RA.
public struct EnrollmentRequest: Hashable, Sendable {
    public var identity: RequestIdentity
    /// The one-time token presented (plain text; only its digest is compared), if any.
    public var token: String?
    public var sourceAddress: String?

    public init(identity: RequestIdentity, token: String?, sourceAddress: String?) {
        self.identity = identity
        self.token = token
        self.sourceAddress = sourceAddress
    }
}

/// Permission to issue one certificate, produced only by the RA's decisions.
public struct IssuanceAuthorization: Hashable, Sendable {
    /// Why issuance is allowed.
    public enum Basis: Hashable, Sendable {
        /// A valid one-time token (consumed atomically with the reservation).
        case token(sha256: String)
        /// An administrator-approved registration.
        case registration(UUID)
        /// Renewal of the agent's current certificate.
        case renewal(predecessorSerial: String)

        /// Whether this issuance renews an existing certificate (the `…_renewed_total` counter).
        public var isRenewal: Bool {
            if case .renewal = self { return true }
            return false
        }
    }

    public let basis: Basis
    public let identity: RequestIdentity
    /// Recorded as the audit actor.
    public let actor: String
}

/// Why the RA refused a request. Refusals are outcomes, not errors (docs/conventions.md#outcomes-are-values).
public enum Refusal: Hashable, Sendable {
    /// Token unknown, used, expired or bound to another hostname.
    case invalidToken(String)
    /// Another request holds this hostname (different agent or key).
    case conflict(PendingRegistration)
    /// The hostname belongs to another active agent, or this agent is already enrolled.
    case alreadyEnrolled(String)
    case agentRevoked(AgentID)
    /// The presented certificate cannot be renewed (unknown, superseded, revoked, expired…).
    case notRenewable(String)
    /// The renewal CSR names a different UUID or hostname than the certificate's agent.
    case identityMismatch(IdentityMismatch)
    /// Renewal is not open yet.
    case notYetDue(renewFrom: Date)
    /// The hostname is one of the appliance's own names (``RegistrationPolicy/reservedNames``).
    case reservedName(String)
    /// The hostname is not a valid RFC 1123 host name; the reason says what is wrong.
    case invalidHostname(String)
    /// This source address already holds the maximum number of pending registrations.
    case tooManyPending(source: String, limit: Int)
    /// The registration waited longer than ``RegistrationPolicy/pendingLifetime`` and expired.
    case registrationExpired(PendingRegistration)
}

/// A refusal thrown by an RA operation that returns no decision (creating a token, approving):
/// the ``Refusal`` value says why; callers map it to their own error (docs/conventions.md#outcomes-are-values).
public struct RefusalError: Error, Hashable, Sendable, CustomStringConvertible {
    public let refusal: Refusal
    public init(_ refusal: Refusal) { self.refusal = refusal }
    public var description: String { "refused: \(refusal)" }
}

/// The outcome of an enrolment request.
public enum EnrollmentDecision: Hashable, Sendable {
    /// Issue now; reserve with ``RegistrationAuthority/reserveIssuance(_:certificate:)``.
    case issue(IssuanceAuthorization)
    /// Waiting for an administrator (RFC 7030 §4.2.3: 202 + Retry-After).
    case pending(PendingRegistration)
    /// The approved request was already issued: answer with this certificate again.
    case alreadyIssued(CertificateRecord)
    /// An administrator rejected it; `reason` is on the registration.
    case rejected(PendingRegistration)
    case refused(Refusal)
}

/// The outcome of a renewal request.
public enum RenewalDecision: Hashable, Sendable {
    case issue(IssuanceAuthorization)
    /// The presented certificate was already renewed for the same key (a retry whose answer was
    /// lost): answer with this successor again instead of issuing another.
    case redeliver(CertificateRecord)
    case refused(Refusal)
}

/// What `GET /api/v1/agent/status` reports about the presented certificate.
public struct CertificateStatusReport: Hashable, Sendable {
    public var certificate: CertificateRecord
    public var revocation: RevocationRecord?
    /// From when renewal is allowed.
    public var renewFrom: Date
    /// True when the agent should renew now (inside the window and still renewable).
    public var renewNow: Bool
}
