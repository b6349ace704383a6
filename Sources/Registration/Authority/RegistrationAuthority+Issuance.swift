import Foundation

extension RegistrationAuthority {
    /// Persists the intent to issue `certificate` (status `reserved`, with its TBS hash) in one
    /// unit of work with what the authorisation consumes: the token, or the approved registration.
    /// Call it before signing; a replayed token or a second renewal of the same certificate
    /// throws `StoreError` (`tokenUnavailable` / `conflict`) and nothing is written.
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
            operations.append(.consumeToken(tokenSHA256: digest, hostname: identity.hostname, at: now))
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
        operations.append(.audit(AuditEntry(time: now, actor: authorization.actor, action: "certificate.reserved",
                                            subject: record.serial, details: details)))
        _ = try await store.perform(operations)
        return record
    }

    /// Records the signed certificate for a reservation and supersedes its predecessor, atomically.
    /// If the agent was revoked while the certificate was being signed, the new certificate is
    /// revoked in the same unit (fail closed).
    public func completeIssuance(serial: String, certificateDER: [UInt8]) async throws -> CertificateRecord {
        let now = clock.now()
        guard let reserved = try await store.certificate(serial: serial) else {
            throw StoreError.notFound("no reservation for serial \(serial)")
        }
        var operations: [StoreOperation] = [.recordIssued(serial: serial, certificateDER: certificateDER, at: now)]
        if let predecessor = reserved.predecessorSerial {
            operations.append(.supersede(serial: predecessor, at: now))
        }
        operations.append(.audit(AuditEntry(time: now, actor: "system", action: "certificate.issued", subject: serial,
                                            details: ["predecessor": reserved.predecessorSerial ?? ""])))
        if let id = reserved.agentID, let agent = try await store.agent(id), agent.status == .revoked {
            operations.append(.revoke(RevocationRecord(serial: serial, issuerSKI: reserved.issuerSKI, revokedAt: now,
                                                       reason: .privilegeWithdrawn)))
        }
        _ = try await store.perform(operations)
        guard let issued = try await store.certificate(serial: serial) else {
            throw StoreError.notFound("serial \(serial) vanished after recording")
        }
        return issued
    }
}
