import Foundation

extension RegistrationAuthority {
    /// Releases an open registration (pending, or approved but not yet issued): it is closed as
    /// `rejected` with a reason naming the release, so its hostname is free for another key or a
    /// token (issue #12: an agent that lost its key while pending held its hostname for ever).
    /// The agent that made it, if it comes back with the same key, is refused with that reason.
    /// Audited as `registration.released` in the same unit of work.
    public func release(registrationID id: UUID, by actor: String, reason: String) async throws -> PendingRegistration {
        let now = clock.now()
        let text = reason.isEmpty ? "released, its hostname freed" : "released, its hostname freed: \(reason)"
        _ = try await commit([
            .releaseRegistration(id: id, by: actor, reason: text, at: now),
            .audit(
                AuditEntry(
                    time: now, actor: actor, action: "registration.released",
                    subject: id.uuidString.lowercased(), details: ["reason": text])),
        ])
        guard let updated = try await store.registration(id) else { throw StoreError.notFound("registration \(id) vanished") }
        return updated
    }
}
