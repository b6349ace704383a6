import Foundation
import Registration

extension IntermediateCA {
    /// `appliance agents release <registration-id|agent-id|hostname>`: closes the open registration
    /// so the hostname can enrol again (with another key or a token). Only open registrations can
    /// be released; an enrolled agent is revoked instead.
    public func releaseRegistration(id: String, reason: String, caller: AdminCaller) async throws -> String {
        let open: PendingRegistration
        if let found = try await registration(matching: id, pendingOnly: false), found.isOpen {
            open = found
        } else if let found = try await store.openRegistration(hostname: id) {
            open = found
        } else if let found = try await store.openRegistration(hostname: id.lowercased()) {
            open = found
        } else {
            throw ApplianceError.notFound(
                "no open registration \(id) (pending, or approved and not yet fetched); `appliance agents list` shows them — an enrolled agent is revoked with `appliance agents revoke` instead"
            )
        }
        let released = try await mapStoreErrors {
            try await authority.release(registrationID: open.id, by: Self.actor(caller), reason: reason)
        }
        return "\(released.id.uuidString.lowercased()) released \(released.hostname) agent=\(released.agentID): the hostname is free to enrol again"
    }
}
