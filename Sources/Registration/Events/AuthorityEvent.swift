import Foundation

/// What a committed unit of work of the ``RegistrationAuthority`` changed, as the parts outside
/// the store must hear it (docs/architecture.md#event-stream): certificates issued, registrations
/// decided, certificates revoked.
///
/// Events are derived from the store's results *after* the unit has committed, in one place
/// (``RegistrationAuthority/commit(_:)``), so a new path that issues or revokes through the RA
/// reaches every subscriber without being wired to them.
public enum AuthorityEvent: Sendable, Hashable {
    /// A certificate was signed and recorded as issued (the agent's, the appliance's server
    /// certificate, an OCSP signer). `renewal` when it succeeds a predecessor (RFC 7030 §4.2.2).
    /// A certificate recorded but revoked in the same unit (its agent was revoked while it was
    /// signed) is never handed out: it arrives as ``revoked(_:agent:)`` only.
    case issued(CertificateRecord, renewal: Bool)
    /// An administrator (or the RA on expiry) moved a pending registration to `status`
    /// (approved or rejected).
    case registrationDecided(id: UUID, status: PendingRegistration.Status)
    /// Certificates revoked by the unit (newly or again: ``RevocationResult/newlyRevoked``).
    /// `agent` is set when a whole agent was revoked — then the event comes even when the agent
    /// had no certificate, because the agent itself may no longer authenticate.
    case revoked([RevocationResult], agent: AgentID?)

    /// The serials this event revokes (lower-case hex), empty for other events.
    public var revokedSerials: [String] {
        if case .revoked(let results, _) = self { return results.map(\.record.serial) }
        return []
    }
}
