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
    /// at `at`, or bound to another hostname — so a replayed token fails.
    case consumeToken(tokenSHA256: String, hostname: String, at: Date)
    /// Inserts a new token (conflict if the digest exists).
    case insertToken(EnrollmentToken)
    /// Inserts the agent or, if it exists, leaves it unchanged (it must not be revoked: invalidState).
    case ensureAgent(Agent)
    /// Marks an agent revoked.
    case revokeAgent(AgentID, at: Date)
    /// Inserts a row in status `reserved` (conflict if the serial exists anywhere).
    case reserveCertificate(CertificateRecord)
    /// Completes a reservation with the signed DER (invalidState unless `reserved`).
    case recordIssued(serial: String, certificateDER: [UInt8], at: Date)
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
}

/// A store that can apply several writes atomically.
public protocol UnitOfWorkStore: Sendable {
    /// Applies `operations` in order in one transaction: all or nothing.
    func perform(_ operations: [StoreOperation]) async throws -> [StoreOperationResult]
}
