import Foundation

/// Pending registrations that must not hold a hostname forever (issue #11: squatting): expiry
/// after ``RegistrationPolicy/pendingLifetime``, and rejection when a token bound to the hostname
/// is presented. Both are decisions of the appliance itself, audited under ``systemActor``.
extension RegistrationAuthority {
    /// The audit actor and `decidedBy` of decisions the appliance takes without an administrator.
    public static let systemActor = "appliance"

    /// The open registration for `hostname`, after expiring it if it waited too long.
    func openRegistration(hostname: String, at now: Date) async throws -> PendingRegistration? {
        guard let open = try await store.openRegistration(hostname: hostname) else { return nil }
        guard open.status == .pending, policy.pendingExpired(created: open.created, at: now) else { return open }
        return try await expire(open, at: now)
    }

    /// Marks an expired pending registration rejected (reason `expired…`) so its hostname is free.
    /// Returns what is open for the hostname afterwards (another request may have raced us).
    @discardableResult
    func expire(_ registration: PendingRegistration, at now: Date) async throws -> PendingRegistration? {
        let hours = Int((policy.pendingLifetime / 3600).rounded())
        let lifetime = hours % 24 == 0 ? "\(hours / 24) day\(hours == 24 ? "" : "s")" : "\(hours) hour\(hours == 1 ? "" : "s")"
        let reason = "expired: not approved within \(lifetime); enrol again, or with a token"
        do {
            _ = try await commit([
                .decideRegistration(id: registration.id, to: .rejected, by: Self.systemActor, reason: reason, at: now),
                .audit(
                    AuditEntry(
                        time: now, actor: Self.systemActor, action: "registration.expired",
                        subject: registration.id.uuidString.lowercased(),
                        details: [
                            "hostname": registration.hostname, "reason": reason,
                            "source": registration.sourceAddress ?? "",
                        ])),
            ])
        } catch let error as StoreError where error.code == .invalidState {
            // Decided concurrently (approved, rejected or expired by another request): re-read.
        }
        return try await store.openRegistration(hostname: registration.hostname)
    }

    /// Rejects a tokenless pending registration of another agent because a token bound to its
    /// hostname was presented. Returns `nil` when the hostname is free afterwards, or the
    /// registration still holding it (decided concurrently, e.g. approved).
    func rejectSquatter(_ squatter: PendingRegistration, tokenSHA256: String, at now: Date) async throws -> PendingRegistration? {
        let reason = "superseded: an enrolment token bound to \(squatter.hostname) was presented"
        do {
            _ = try await commit([
                .decideRegistration(id: squatter.id, to: .rejected, by: Self.systemActor, reason: reason, at: now),
                .audit(
                    AuditEntry(
                        time: now, actor: Self.systemActor, action: "registration.rejected",
                        subject: squatter.id.uuidString.lowercased(),
                        details: [
                            "hostname": squatter.hostname, "reason": reason, "agent": squatter.agentID.description,
                            "source": squatter.sourceAddress ?? "", "token": String(tokenSHA256.prefix(16)),
                        ])),
            ])
        } catch let error as StoreError where error.code == .invalidState {
            // Decided concurrently: whatever holds the hostname now is the answer.
        }
        return try await store.openRegistration(hostname: squatter.hostname)
    }
}
