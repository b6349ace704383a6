import Foundation
import PKICore
import Registration

extension InMemoryStore.State {
    /// Applies one operation with the same preconditions as the SQL stores.
    mutating func apply(_ operation: StoreOperation) throws -> StoreOperationResult {
        switch operation {
        case .consumeToken(let digest, let hostname, let now):
            guard var token = tokens[digest] else { throw StoreError.tokenUnavailable("unknown enrolment token") }
            if let reason = token.unusableReason(hostname: hostname, at: now) { throw StoreError.tokenUnavailable(reason) }
            token.consumedAt = now
            tokens[digest] = token
            return .consumed(token)
        case .insertToken(let token):
            guard tokens[token.tokenSHA256] == nil else { throw StoreError.conflict("token already exists") }
            tokens[token.tokenSHA256] = token
        case .ensureAgent(let agent):
            if let existing = agents[agent.id] {
                guard existing.status == .active else { throw StoreError.invalidState("agent \(agent.id) is revoked") }
            } else {
                // One active agent per host name, compared case-insensitively (the SQL stores'
                // `agents_active_hostname` index).
                let name = NameSyntax.asciiLowercased(agent.hostname)
                if agent.status == .active, agents.values.contains(where: { $0.status == .active && NameSyntax.asciiLowercased($0.hostname) == name }) {
                    throw StoreError.conflict("an active agent for \(agent.hostname) exists")
                }
                agents[agent.id] = agent
            }
        case .revokeAgent(let id, let now):
            guard var agent = agents[id] else { throw StoreError.notFound("agent \(id) is not known") }
            if agent.status != .revoked {
                agent.status = .revoked
                agent.revokedAt = now
                agents[id] = agent
            }
        case .reserveCertificate(let record):
            guard certificates[record.serial] == nil else { throw StoreError.conflict("serial \(record.serial) already exists") }
            if let id = record.agentID, agents[id] == nil { throw StoreError.notFound("agent \(id) is not known") }
            if let predecessor = record.predecessorSerial {
                guard certificates[predecessor] != nil else { throw StoreError.notFound("predecessor \(predecessor) is not known") }
                let live = certificates.values.contains { $0.predecessorSerial == predecessor && $0.status != .revoked }
                if live { throw StoreError.conflict("certificate \(predecessor) already has a successor") }
            }
            var reserved = record
            reserved.status = .reserved
            certificates[record.serial] = reserved
        case .recordIssued(let serial, let der, let now):
            guard var record = certificates[serial] else { throw StoreError.notFound("no reservation for serial \(serial)") }
            guard record.status == .reserved || (record.status == .revoked && record.certificateDER == nil) else {
                throw StoreError.invalidState("serial \(serial) is \(record.status), not reserved")
            }
            record.certificateDER = der
            record.issuedAt = now
            if record.status == .reserved { record.status = .issued }
            certificates[serial] = record
        case .supersede(let serial, let now):
            guard var record = certificates[serial] else { throw StoreError.notFound("certificate \(serial) is not known") }
            if record.status == .issued {
                record.status = .superseded
                record.supersededAt = now
                certificates[serial] = record
            }
        case .insertRegistration(let registration):
            guard registrations[registration.id] == nil else { throw StoreError.conflict("registration id exists") }
            // Host names compare case-insensitively (RFC 4343 §3), as in the SQL stores' index.
            if registration.isOpen, registrations.values.contains(where: {
                NameSyntax.asciiLowercased($0.hostname) == NameSyntax.asciiLowercased(registration.hostname) && $0.isOpen
            }) {
                throw StoreError.conflict("an open registration for \(registration.hostname) exists")
            }
            registrations[registration.id] = registration
        case .decideRegistration(let id, let status, let actor, let reason, let now):
            guard var registration = registrations[id] else { throw StoreError.notFound("registration \(id) is not known") }
            guard registration.status == .pending else { throw StoreError.invalidState("registration \(id) is \(registration.status)") }
            registration.status = status
            registration.decidedBy = actor
            registration.reason = reason
            registration.decidedAt = now
            registrations[id] = registration
        case .markRegistrationIssued(let id, let serial):
            guard var registration = registrations[id] else { throw StoreError.notFound("registration \(id) is not known") }
            guard registration.status == .approved, registration.issuedSerial == nil else {
                throw StoreError.invalidState("registration \(id) is not approved and unissued")
            }
            registration.issuedSerial = serial
            registrations[id] = registration
        case .revoke(let revocation):
            if let existing = revocations[revocation.serial] { return .revoked(RevocationResult(record: existing, newlyRevoked: false)) }
            guard var record = certificates[revocation.serial] else {
                throw StoreError.notFound("certificate \(revocation.serial) is not known")
            }
            var stored = revocation
            stored.issuerSKI = record.issuerSKI
            record.status = .revoked
            certificates[record.serial] = record
            revocations[revocation.serial] = stored
            revocationOrder.append(revocation.serial)
            return .revoked(RevocationResult(record: stored, newlyRevoked: true))
        case .audit(let entry):
            let event = try AuditEvent.chained(entry, previousSeq: audit.last?.seq ?? 0, prevHash: audit.last?.hash ?? AuditEvent.genesisHash)
            audit.append(event)
            return .audited(event)
        }
        return .done
    }
}
