import Foundation
import X509

/// What the HTTPS layer needs from the CA + RA (seam for `PKICore` issuance and `Registration`).
///
/// Implementations decide; the HTTP layer only parses, authenticates transport-level identity and
/// translates outcomes. Policy outcomes are values (``EnrollmentOutcome``); `throw` means "could not
/// evaluate" and is answered with 503 (fail closed).
public protocol CertificateAuthorityService: Sendable {
    /// The CA certificates served by EST `/cacerts` (RFC 7030 §4.1): the current intermediate(s)
    /// and the root. During an intermediate overlap both intermediates are returned.
    func caCertificates() async throws -> [Certificate]

    /// DER of the EST `CsrAttrs` SEQUENCE (RFC 7030 §4.5.2), or `nil` when there is nothing to ask
    /// for (answered 204 as §4.5.2 allows).
    func csrAttributes() async throws -> [UInt8]?

    /// A new agent's enrolment (RFC 7030 §4.2.1), as received on the wire: the DER PKCS#10 request
    /// (already base64-decoded), the one-time token from HTTP Basic (password) or
    /// `Authorization: Bearer`, and the peer address (for the registration record and audit).
    /// Without a token this records or re-finds a pending registration; the same CSR after
    /// approval yields ``EnrollmentOutcome/issued(_:)``. The CA turns this into the RA's one
    /// `EnrollmentRequest` once the CSR has been checked.
    func enroll(csrDER: [UInt8], token: String?, source: String) async throws -> EnrollmentOutcome

    /// Renewal (RFC 7030 §4.2.2) by an agent already authenticated by ``ClientAuthenticator``.
    func reenroll(csrDER: [UInt8], client: AuthenticatedAgent) async throws -> EnrollmentOutcome

    /// The calling agent's certificate state for `GET /api/v1/agent/status`.
    func agentStatus(client: AuthenticatedAgent) async throws -> AgentStatus
}

/// The outcome of an (re)enrolment: a value, not an error (docs/conventions.md#outcomes-are-values).
public enum EnrollmentOutcome: Sendable {
    /// Issued: the new certificate, then the chain above it (intermediate, root).
    case issued(certificate: Certificate, chain: [Certificate])
    /// Waiting for an administrator (RFC 7030 §4.2.3: 202 + Retry-After).
    case pending(registrationID: String, retryAfterSeconds: Int)
    /// Refused by policy; `reason` is safe to show to the client.
    case rejected(reason: String)
    /// A renewal refused because its CSR names another agent or hostname than the client
    /// certificate (the RA's ``IdentityMismatch``); answered like ``rejected(reason:)`` and
    /// counted as a validation failure, since a valid certificate asked for a name it does not hold.
    case identityMismatch(reason: String)
}

/// The agent's own view of its certificate (`/api/v1/agent/status`).
public struct AgentStatus: Sendable, Codable, Equatable {
    public var agentID: String
    public var hostname: String
    public var serialNumber: String
    public var notBefore: Date
    public var notAfter: Date
    /// `active`, `superseded`, `revoked`, … as the store records it.
    public var state: String
    /// True when the agent should renew now (inside the `ca.renew_before_days` window of
    /// docs/profiles.md#renewal-windows, and only for a renewable certificate).
    public var renewNow: Bool
    /// When the renewal window opens (notAfter − `ca.renew_before_days`), so an agent can say when.
    public var renewFrom: Date?

    public init(
        agentID: String, hostname: String, serialNumber: String, notBefore: Date, notAfter: Date, state: String, renewNow: Bool,
        renewFrom: Date? = nil
    ) {
        self.agentID = agentID
        self.hostname = hostname
        self.serialNumber = serialNumber
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.state = state
        self.renewNow = renewNow
        self.renewFrom = renewFrom
    }
}
