import Foundation
import PKICore
import Registration
import X509

extension IntermediateCA: AdministrationService {
    /// The audit actor of an administrator on the admin socket (uid from SO_PEERCRED).
    static func actor(_ caller: AdminCaller) -> String { caller.auditActor }

    /// Records a read-only admin action; writes are audited by the RA in their own unit of work.
    func auditRead(_ action: String, subject: String, caller: AdminCaller) async throws {
        _ = try await store.append(
            AuditEntry(
                time: clock.now(), actor: Self.actor(caller), action: action, subject: subject,
                details: caller.administrator == nil ? ["pid": String(caller.pid)] : [:]))
    }

    public func listAgents(caller: AdminCaller) async throws -> [AdminEntry] {
        try await auditRead("admin.agents.list", subject: "*", caller: caller)
        var entries: [AdminEntry] = []
        let now = clock.now()
        for registration in try await store.registrations(status: .pending).sorted(by: { $0.created < $1.created }) {
            // Expired but not yet met by a request (which closes it): shown as such, not approvable.
            let state = authority.policy.pendingExpired(created: registration.created, at: now) ? "expired" : "pending"
            entries.append(
                AdminEntry(
                    id: registration.id.uuidString.lowercased(),
                    summary:
                        "\(state) \(registration.hostname) agent=\(registration.agentID) spki=\(registration.spkiSHA256.prefix(16)) source=\(registration.sourceAddress ?? "-")",
                    fields: Self.fields(registration, status: state)))
        }
        // Approved but never fetched: still holds its hostname until the agent returns or it is released.
        for registration in try await store.registrations(status: .approved).filter(\.isOpen).sorted(by: { $0.created < $1.created }) {
            entries.append(
                AdminEntry(
                    id: registration.id.uuidString.lowercased(),
                    summary:
                        "approved \(registration.hostname) agent=\(registration.agentID) spki=\(registration.spkiSHA256.prefix(16)) (not yet fetched by the agent)",
                    fields: Self.fields(registration, status: "approved")))
        }
        for agent in try await store.agents(status: nil).sorted(by: { $0.id < $1.id }) {
            var fields = [
                AdminField(name: "kind", value: "agent"), AdminField(name: "status", value: agent.status.rawValue),
                AdminField(name: "hostname", value: agent.hostname), AdminField(name: "agentID", value: agent.id.description),
                AdminField(name: "created", value: Self.time(agent.created)),
            ]
            if let revokedAt = agent.revokedAt { fields.append(AdminField(name: "revoked", value: Self.time(revokedAt))) }
            entries.append(
                AdminEntry(
                    id: agent.id.description, summary: "\(agent.status.rawValue) \(agent.hostname) created=\(Self.time(agent.created))",
                    fields: fields))
        }
        return entries
    }

    public func showAgent(id: String, caller: AdminCaller) async throws -> [AdminField] {
        try await auditRead("admin.agents.show", subject: id, caller: caller)
        if let registration = try await registration(matching: id, pendingOnly: false) {
            var fields = [
                AdminField(name: "registration", value: registration.id.uuidString.lowercased()),
                AdminField(name: "status", value: registration.status.rawValue),
                AdminField(name: "hostname", value: registration.hostname),
                AdminField(name: "agent", value: registration.agentID.description),
                AdminField(name: "spki-sha256", value: registration.spkiSHA256),
                AdminField(name: "source", value: registration.sourceAddress ?? "-"),
                AdminField(name: "created", value: Self.time(registration.created)),
            ]
            if let reason = registration.reason { fields.append(AdminField(name: "reason", value: reason)) }
            if let serial = registration.issuedSerial { fields.append(AdminField(name: "issued", value: serial)) }
            if let agentID = AgentID(id), agentID == registration.agentID, try await store.agent(agentID) != nil {
                return try await agentFields(agentID)
            }
            return fields
        }
        guard let agentID = AgentID(id) else { throw ApplianceError.notFound("no agent or registration \(id)") }
        return try await agentFields(agentID)
    }

    func agentFields(_ agentID: AgentID) async throws -> [AdminField] {
        guard let agent = try await store.agent(agentID) else { throw ApplianceError.notFound("no agent \(agentID)") }
        var fields = [
            AdminField(name: "agent", value: agent.id.description), AdminField(name: "hostname", value: agent.hostname),
            AdminField(name: "status", value: agent.status.rawValue), AdminField(name: "created", value: Self.time(agent.created)),
        ]
        if let revokedAt = agent.revokedAt { fields.append(AdminField(name: "revoked", value: Self.time(revokedAt))) }
        for record in try await store.certificates(agent: agentID) {
            fields.append(AdminField(name: "certificate", value: "\(record.serial) \(record.status.rawValue) notAfter=\(Self.time(record.notAfter))"))
        }
        return fields
    }

    public func approveAgent(id: String, caller: AdminCaller) async throws -> String {
        guard let registration = try await registration(matching: id, pendingOnly: true) else {
            throw ApplianceError.notFound("no pending registration \(id)")
        }
        let decided = try await mapStoreErrors { try await authority.approve(registrationID: registration.id, by: Self.actor(caller)) }
        return "\(decided.id.uuidString.lowercased()) approved \(decided.hostname) agent=\(decided.agentID)"
    }

    public func rejectAgent(id: String, reason: String, caller: AdminCaller) async throws -> String {
        guard let registration = try await registration(matching: id, pendingOnly: true) else {
            throw ApplianceError.notFound("no pending registration \(id)")
        }
        let text = reason.isEmpty ? "rejected by an administrator" : reason
        let decided = try await mapStoreErrors {
            try await authority.reject(registrationID: registration.id, by: Self.actor(caller), reason: text)
        }
        return "\(decided.id.uuidString.lowercased()) rejected \(decided.hostname): \(text)"
    }

    public func revokeAgent(id: String, reason: String, caller: AdminCaller) async throws -> String {
        guard let agentID = AgentID(id) else { throw ApplianceError.malformed("'\(id)' is not an agent UUID") }
        let parsed = try Self.revocationReason(reason)
        // The RA's unit of work announces the revocation (metrics, caches, OCSP, CRL, connections).
        let results = try await mapStoreErrors { try await authority.revokeAgent(agentID, reason: parsed, by: Self.actor(caller)) }
        return "\(agentID) revoked (\(counted(results.count, "certificate")), reason \(parsed?.name ?? "none"))"
    }

    public func createToken(hostname: String?, caller: AdminCaller) async throws -> String {
        try await mapStoreErrors { try await authority.createToken(hostname: hostname, by: Self.actor(caller)) }
    }

    public func listCertificates(caller: AdminCaller) async throws -> [AdminEntry] {
        try await auditRead("admin.certs.list", subject: "*", caller: caller)
        return try await store.certificates(type: nil).map(Self.entry)
    }

    public func showCertificate(serial: String, caller: AdminCaller) async throws -> [AdminField] {
        let serial = serial.lowercased()
        try await auditRead("admin.certs.show", subject: serial, caller: caller)
        guard let record = try await store.certificate(serial: serial) else { throw ApplianceError.notFound("no certificate \(serial)") }
        var fields = [
            AdminField(name: "serial", value: record.serial), AdminField(name: "type", value: record.type.rawValue),
            AdminField(name: "subject", value: record.subject), AdminField(name: "status", value: record.status.rawValue),
            AdminField(name: "notBefore", value: Self.time(record.notBefore)), AdminField(name: "notAfter", value: Self.time(record.notAfter)),
            AdminField(name: "agent", value: record.agentID?.description ?? "-"),
            AdminField(name: "predecessor", value: record.predecessorSerial ?? "-"),
            AdminField(name: "tbs-sha256", value: record.tbsSHA256),
        ]
        if case .revoked(let revocation) = try await store.revocationStatus(serial: serial) {
            fields.append(AdminField(name: "revoked", value: "\(Self.time(revocation.revokedAt)) reason=\(revocation.reason?.name ?? "none")"))
        }
        for link in try await store.lineage(serial: serial) where link.serial != serial {
            fields.append(AdminField(name: "lineage", value: "\(link.serial) \(link.status.rawValue)"))
        }
        return fields
    }

    public func revokeCertificate(serial: String, reason: String, caller: AdminCaller) async throws -> String {
        let parsed = try Self.revocationReason(reason)
        let result = try await mapStoreErrors {
            try await authority.revokeCertificate(serial: serial.lowercased(), reason: parsed, by: Self.actor(caller))
        }
        return "\(result.record.serial) \(result.newlyRevoked ? "revoked" : "was already revoked") reason=\(result.record.reason?.name ?? "none")"
    }

    public func expiringCertificates(withinDays days: Int, caller: AdminCaller) async throws -> [AdminEntry] {
        guard (0...3650).contains(days) else { throw ApplianceError.malformed("days must be 0–3650, got \(days)") }
        try await auditRead("admin.certs.expiring", subject: String(days), caller: caller)
        return try await store.expiring(withinDays: days, now: clock.now()).map(Self.entry)
    }

    public func generateCRL(caller: AdminCaller) async throws -> String {
        try await auditRead("admin.crl.generate", subject: issuerSKI, caller: caller)
        return try await crlPublication.publishNow()
    }

    /// A registration by its own ID or by the agent UUID it is for (administrators see both).
    func registration(matching id: String, pendingOnly: Bool) async throws -> PendingRegistration? {
        if let uuid = UUID(uuidString: id), let found = try await store.registration(uuid), !pendingOnly || found.status == .pending {
            return found
        }
        guard let agentID = AgentID(id) else { return nil }
        let candidates = try await store.registrations(status: pendingOnly ? .pending : nil).filter { $0.agentID == agentID }
        return candidates.max { $0.created < $1.created }
    }

    static func entry(_ record: CertificateRecord) -> AdminEntry {
        AdminEntry(
            id: record.serial, summary: "\(record.status.rawValue) \(record.type.rawValue) \(record.subject) notAfter=\(time(record.notAfter))",
            fields: [
                AdminField(name: "serial", value: record.serial), AdminField(name: "status", value: record.status.rawValue),
                AdminField(name: "type", value: record.type.rawValue), AdminField(name: "subject", value: record.subject),
                AdminField(name: "notBefore", value: time(record.notBefore)), AdminField(name: "notAfter", value: time(record.notAfter)),
                AdminField(name: "agentID", value: record.agentID?.description ?? ""),
            ])
    }

    /// The `--format json` fields of an open registration in `agents list`.
    static func fields(_ registration: PendingRegistration, status: String) -> [AdminField] {
        [
            AdminField(name: "kind", value: "registration"), AdminField(name: "status", value: status),
            AdminField(name: "hostname", value: registration.hostname), AdminField(name: "agentID", value: registration.agentID.description),
            AdminField(name: "spkiSHA256", value: registration.spkiSHA256), AdminField(name: "source", value: registration.sourceAddress ?? ""),
            AdminField(name: "created", value: time(registration.created)),
        ]
    }

    static func time(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    /// Store "not found"/"invalid state" become admin-facing errors; everything else propagates.
    func mapStoreErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError where error.code == .notFound {
            throw ApplianceError.notFound(error.reason)
        } catch let error as StoreError where error.code == .invalidState {
            throw ApplianceError.malformed(error.reason)
        } catch let error as RefusalError {
            throw ApplianceError.forbidden(Self.describe(error.refusal))
        }
    }
}
