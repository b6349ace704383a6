import Foundation

/// One write in a unit of work (``UnitOfWorkStore/perform(_:)``). Every operation states its
/// precondition; if any precondition fails, nothing in the unit is written.
///
/// Expressed as values rather than a transaction closure so that every backend can run a unit in
/// one database transaction without holding a connection across `await`s (GRDB's write closures
/// are synchronous; a PostgreSQL store runs the same list inside `BEGIN … COMMIT` with
/// `SELECT … FOR UPDATE` on the rows it checks).
public enum StoreOperation: Sendable, Hashable {
    /// Marks a token consumed. Fails with `tokenUnavailable` if it is unknown, consumed, expired
    /// at `at`, or bound to another hostname — so a replayed token fails. `forSerial` names the
    /// reservation the token pays for, so that ``releaseReservation(serial:at:)`` can give it back.
    case consumeToken(tokenSHA256: String, hostname: String, at: Date, forSerial: String? = nil)
    /// Inserts a new token (conflict if the digest exists).
    case insertToken(EnrollmentToken)
    /// Inserts the agent or, if it exists, leaves it unchanged (it must not be revoked: invalidState).
    case ensureAgent(Agent)
    /// Marks an agent revoked.
    case revokeAgent(AgentID, at: Date)
    /// Marks an agent revoked and revokes every certificate it has *at commit* — issued,
    /// superseded and unfinished reservations alike — with `reason`. The line is read inside the
    /// write transaction, so a renewal reserved concurrently is either in it or refused by
    /// ``ensureAgent(_:)`` (notFound if the agent is unknown). Produces ``StoreOperationResult/revokedLine(_:)``.
    case revokeAgentLine(AgentID, at: Date, reason: RevocationReason?)
    /// Inserts a row in status `reserved` (conflict if the serial exists anywhere).
    case reserveCertificate(CertificateRecord)
    /// Completes a reservation with the signed DER (invalidState unless `reserved`).
    case recordIssued(serial: String, certificateDER: [UInt8], at: Date)
    /// Completes a reservation like ``recordIssued(serial:certificateDER:at:)`` and, inside the
    /// same transaction, decides whether the certificate may be handed out: if the certificate was
    /// revoked while it was being signed (its agent revoked, or its reservation resolved as failed)
    /// or its agent is revoked at commit, it is recorded *and* revoked with `reasonIfRevoked`;
    /// otherwise its predecessor (a renewal's) is marked superseded in the same transaction.
    /// Produces ``StoreOperationResult/completed(_:revocation:)``.
    case completeReservation(serial: String, certificateDER: [UInt8], at: Date, reasonIfRevoked: RevocationReason?)
    /// Resolves a reservation that will never be completed (signing failed, or the process died
    /// between reservation and record): the serial is revoked (it may have been signed; it is never
    /// reused), the token it consumed is given back and the approved registration it closed is
    /// re-opened (unless another registration for the hostname opened meanwhile). invalidState
    /// unless the row is still `reserved` without a certificate — a completed issuance is never
    /// undone. Produces ``StoreOperationResult/released(_:)``.
    case releaseReservation(serial: String, at: Date)
    /// Marks an issued certificate superseded (invalidState unless `issued`).
    case supersede(serial: String, at: Date)
    /// Inserts a pending registration (conflict if another registration is open for the hostname).
    case insertRegistration(PendingRegistration)
    /// Moves a registration from `pending` to `to` (invalidState otherwise).
    case decideRegistration(id: UUID, to: PendingRegistration.Status, by: String, reason: String?, at: Date)
    /// Records which certificate was issued for an approved registration (invalidState unless approved).
    case markRegistrationIssued(id: UUID, serial: String)
    /// Closes an open registration (pending, or approved and not yet issued) as `rejected` with
    /// `reason`, so it no longer holds its hostname (invalidState unless open; notFound if unknown).
    case releaseRegistration(id: UUID, by: String, reason: String, at: Date)
    /// Revokes a known certificate (notFound otherwise); idempotent per serial.
    case revoke(RevocationRecord)
    /// Appends to the hash-chained audit log.
    case audit(AuditEntry)
}

/// What each operation produced, in the order of the unit.
public enum StoreOperationResult: Sendable, Hashable {
    case done
    case revoked(RevocationResult)
    case audited(AuditEvent)
    case consumed(EnrollmentToken)
    /// Every certificate of the agent, as revoked by ``StoreOperation/revokeAgentLine(_:at:reason:)``.
    case revokedLine([RevocationResult])
    /// The recorded certificate, and its revocation when it must not be handed out.
    case completed(CertificateRecord, revocation: RevocationResult?)
    case released(ReleasedReservation)
}

/// What ``StoreOperation/releaseReservation(serial:at:)`` undid.
public struct ReleasedReservation: Sendable, Hashable {
    /// The reservation, now revoked.
    public var certificate: CertificateRecord
    public var revocation: RevocationResult
    /// The token given back (its digest), if the reservation had consumed one.
    public var restoredToken: String?
    /// The approved registration re-opened, if the reservation had closed one.
    public var reopenedRegistration: UUID?

    public init(certificate: CertificateRecord, revocation: RevocationResult, restoredToken: String?, reopenedRegistration: UUID?) {
        self.certificate = certificate
        self.revocation = revocation
        self.restoredToken = restoredToken
        self.reopenedRegistration = reopenedRegistration
    }
}

/// A store that can apply several writes atomically.
public protocol UnitOfWorkStore: Sendable {
    /// Applies `operations` in order in one transaction: all or nothing.
    func perform(_ operations: [StoreOperation]) async throws -> [StoreOperationResult]
}
