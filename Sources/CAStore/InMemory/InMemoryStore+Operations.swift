import Foundation
import PKICore
import Registration

extension InMemoryStore.State {
    /// Applies one operation with the same preconditions as the SQL stores.
    mutating func apply(_ operation: StoreOperation) throws -> StoreOperationResult {
        switch operation {
        case .consumeToken(let digest, let hostname, let now, let serial):
            guard var token = tokens[digest] else { throw StoreError.tokenUnavailable("unknown enrolment token") }
            if let reason = token.unusableReason(hostname: hostname, at: now) { throw StoreError.tokenUnavailable(reason) }
            token.consumedAt = now
            token.reservedSerial = serial
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
                if agent.status == .active, agents.values.contains(where: { $0.status == .active && NameSyntax.asciiLowercased($0.hostname) == name })
                {
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
            try recordIssued(serial: serial, der: der, at: now)
        case .completeReservation(let serial, let der, let now, let reason):
            try recordIssued(serial: serial, der: der, at: now)
            guard var record = certificates[serial] else { throw StoreError.notFound("serial \(serial) vanished") }
            let agentRevoked = record.agentID.flatMap { agents[$0] }?.status == .revoked
            guard agentRevoked || record.status == .revoked else {
                if let predecessor = record.predecessorSerial, certificates[predecessor]?.status == .issued {
                    certificates[predecessor]?.status = .superseded
                    certificates[predecessor]?.supersededAt = now
                }
                return .completed(record, revocation: nil)
            }
            let revocation = try revoke(RevocationRecord(serial: serial, issuerSKI: record.issuerSKI, revokedAt: now, reason: reason))
            record.status = .revoked
            return .completed(record, revocation: revocation)
        case .releaseReservation(let serial, let now):
            guard var record = certificates[serial] else { throw StoreError.notFound("no reservation for serial \(serial)") }
            guard record.certificateDER == nil, record.status == .reserved || record.status == .revoked else {
                throw StoreError.invalidState("serial \(serial) is \(record.status) with a recorded certificate, not an unfinished reservation")
            }
            let revocation = try revoke(RevocationRecord(serial: serial, issuerSKI: record.issuerSKI, revokedAt: now, reason: nil))
            record.status = .revoked
            let token = tokens.values.first { $0.reservedSerial == serial }?.tokenSHA256
            if let token {
                tokens[token]?.consumedAt = nil
                tokens[token]?.reservedSerial = nil
            }
            var reopened: UUID?
            if let registration = registrations.values.first(where: { $0.issuedSerial == serial && $0.status == .approved }),
                !registrations.values.contains(where: { $0.hostname == registration.hostname && $0.isOpen })
            {
                registrations[registration.id]?.issuedSerial = nil
                reopened = registration.id
            }
            return .released(
                ReleasedReservation(
                    certificate: record, revocation: revocation, restoredToken: token,
                    reopenedRegistration: reopened))
        case .revokeAgentLine(let id, let now, let reason):
            guard var agent = agents[id] else { throw StoreError.notFound("agent \(id) is not known") }
            if agent.status != .revoked {
                agent.status = .revoked
                agent.revokedAt = now
                agents[id] = agent
            }
            let line = certificates.values.filter { $0.agentID == id }.sorted { ($0.reservedAt, $0.serial) < ($1.reservedAt, $1.serial) }
            return .revokedLine(
                try line.map {
                    try revoke(RevocationRecord(serial: $0.serial, issuerSKI: $0.issuerSKI, revokedAt: now, reason: reason))
                })
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
            if registration.isOpen,
                registrations.values.contains(where: {
                    NameSyntax.asciiLowercased($0.hostname) == NameSyntax.asciiLowercased(registration.hostname) && $0.isOpen
                })
            {
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
        case .releaseRegistration(let id, let actor, let reason, let now):
            guard var registration = registrations[id] else { throw StoreError.notFound("registration \(id) is not known") }
            guard registration.isOpen else { throw StoreError.invalidState("registration \(id) is \(registration.status) and holds no hostname") }
            registration.status = .rejected
            registration.decidedBy = actor
            registration.reason = reason
            registration.decidedAt = now
            registrations[id] = registration
        case .revoke(let revocation):
            return .revoked(try revoke(revocation))
        case .audit(let entry):
            let event = try AuditEvent.chained(entry, previousSeq: audit.last?.seq ?? 0, prevHash: audit.last?.hash ?? AuditEvent.genesisHash)
            audit.append(event)
            return .audited(event)
        }
        return .done
    }
}

extension InMemoryStore.State {
    /// Revokes a known certificate; idempotent per serial.
    mutating func revoke(_ revocation: RevocationRecord) throws -> RevocationResult {
        if let existing = revocations[revocation.serial] { return RevocationResult(record: existing, newlyRevoked: false) }
        guard var record = certificates[revocation.serial] else {
            throw StoreError.notFound("certificate \(revocation.serial) is not known")
        }
        var stored = revocation
        stored.issuerSKI = record.issuerSKI
        record.status = .revoked
        certificates[record.serial] = record
        revocations[revocation.serial] = stored
        revocationOrder.append(revocation.serial)
        return RevocationResult(record: stored, newlyRevoked: true)
    }

    mutating func recordIssued(serial: String, der: [UInt8], at now: Date) throws {
        guard var record = certificates[serial] else { throw StoreError.notFound("no reservation for serial \(serial)") }
        guard record.status == .reserved || (record.status == .revoked && record.certificateDER == nil) else {
            throw StoreError.invalidState("serial \(serial) is \(record.status), not reserved")
        }
        record.certificateDER = der
        record.issuedAt = now
        if record.status == .reserved { record.status = .issued }
        certificates[serial] = record
    }
}
