import Foundation

extension RegistrationAuthority {
    /// Persists the intent to issue `certificate` (status `reserved`, with its TBS hash) in one
    /// unit of work with what the authorisation consumes: the token, or the approved registration.
    /// Call it before signing; a replayed token or a second renewal of the same certificate
    /// throws `StoreError` (`tokenUnavailable` / `conflict`) and nothing is written.
    ///
    /// What the reservation consumed is given back if it never completes: the CA calls
    /// ``releaseReservation(serial:cause:by:)`` when signing or recording fails, and
    /// ``reapStaleReservations(reservedBefore:by:)`` resolves those a dead process left behind.
    public func reserveIssuance(_ authorization: IssuanceAuthorization, certificate: CertificateRecord) async throws -> CertificateRecord {
        let identity = authorization.identity
        let now = clock.now()
        var record = certificate
        record.status = .reserved
        record.agentID = identity.agentID
        record.certificateDER = nil
        record.reservedAt = now
        var operations: [StoreOperation] = []
        var details = ["hostname": identity.hostname, "tbs_sha256": record.tbsSHA256, "type": record.type.rawValue]
        switch authorization.basis {
        case .token(let digest):
            operations.append(.consumeToken(tokenSHA256: digest, hostname: identity.hostname, at: now, forSerial: record.serial))
            record.predecessorSerial = nil
            details["basis"] = "token"
        case .registration(let id):
            operations.append(.markRegistrationIssued(id: id, serial: record.serial))
            record.predecessorSerial = nil
            details["basis"] = "registration:\(id.uuidString.lowercased())"
        case .renewal(let predecessor):
            record.predecessorSerial = predecessor
            details["basis"] = "renewal:\(predecessor)"
        }
        operations.append(.ensureAgent(Agent(id: identity.agentID, hostname: identity.hostname, created: now)))
        operations.append(.reserveCertificate(record))
        operations.append(
            .audit(
                AuditEntry(
                    time: now, actor: authorization.actor, action: "certificate.reserved",
                    subject: record.serial, details: details)))
        _ = try await commit(operations)
        return record
    }

    /// Records the signed certificate for a reservation and supersedes its predecessor, atomically.
    ///
    /// Whether the certificate may be handed out is decided inside the store's write transaction
    /// (``StoreOperation/completeReservation(serial:certificateDER:at:reasonIfRevoked:)``): if its
    /// agent was revoked while it was being signed, or its reservation was resolved as failed,
    /// it is recorded revoked (privilegeWithdrawn, RFC 5280 §5.3.1), the predecessor is left
    /// as it was, and the answer is ``IssuanceCompletion/revoked(_:_:)`` — the caller must not
    /// return the certificate and must tell the revocation services.
    public func completeIssuance(serial: String, certificateDER: [UInt8]) async throws -> IssuanceCompletion {
        let now = clock.now()
        // Read for the audit details only (a reservation's predecessor never changes); the
        // decision is made by the store operation, inside the transaction.
        guard let reserved = try await store.certificate(serial: serial) else {
            throw StoreError.notFound("no reservation for serial \(serial)")
        }
        let results = try await commit([
            .completeReservation(serial: serial, certificateDER: certificateDER, at: now, reasonIfRevoked: .privilegeWithdrawn),
            .audit(
                AuditEntry(
                    time: now, actor: "system", action: "certificate.issued", subject: serial,
                    details: ["predecessor": reserved.predecessorSerial ?? ""])),
        ])
        guard case .completed(let record, let revocation) = results.first else {
            throw StoreError(.database, "recording serial \(serial) produced no result")
        }
        if let revocation {
            _ = try await commit([
                .audit(
                    AuditEntry(
                        time: now, actor: "system", action: "certificate.revoked", subject: serial,
                        details: [
                            "reason": revocation.record.reason?.name ?? "none",
                            "cause": "revoked while being signed; not delivered",
                        ]))
            ])
            return .revoked(record, revocation)
        }
        return .issued(record)
    }

    /// Resolves a reservation whose signing or recording failed in this process: the serial is
    /// revoked (never reused), the token it spent is given back and the approved registration it
    /// closed re-opened, with an audit entry naming `cause` — so the same agent can try again.
    /// Throws `invalidState` if the reservation has meanwhile been completed.
    public func releaseReservation(serial: String, cause: String, by actor: String = "system") async throws -> ReleasedReservation {
        let now = clock.now()
        let results = try await commit([
            .releaseReservation(serial: serial, at: now),
            .audit(
                AuditEntry(
                    time: now, actor: actor, action: "certificate.reservation.released", subject: serial,
                    details: ["cause": cause])),
        ])
        guard case .released(let released) = results.first else {
            throw StoreError(.database, "releasing serial \(serial) produced no result")
        }
        return released
    }

    /// Resolves every reservation made before `cutoff` that is still unfinished (a process killed
    /// between reservation and record, a request cancelled mid-signature) as
    /// ``releaseReservation(serial:cause:by:)`` does. A reservation completed meanwhile is left
    /// alone; any other failure is thrown after the remaining reservations were tried.
    public func reapStaleReservations(reservedBefore cutoff: Date, by actor: String = "system") async throws -> [ReleasedReservation] {
        var released: [ReleasedReservation] = []
        var firstError: (any Error)?
        for stale in try await store.reservations(olderThan: cutoff) {
            do {
                released.append(
                    try await releaseReservation(
                        serial: stale.serial, cause: "stale reservation from \(stale.reservedAt) never completed", by: actor))
            } catch let error as StoreError where error.code == .invalidState {
                continue
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
        return released
    }
}

/// What became of a signed certificate when it was recorded.
public enum IssuanceCompletion: Hashable, Sendable {
    /// Recorded as issued: hand it out.
    case issued(CertificateRecord)
    /// Recorded but revoked in the same transaction (its agent was revoked while it was signed):
    /// never hand it out; tell the revocation services.
    case revoked(CertificateRecord, RevocationResult)
}
