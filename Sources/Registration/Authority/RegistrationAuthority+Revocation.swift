import Foundation

extension RegistrationAuthority {
    /// Revokes one certificate (idempotent: a second call returns the first revocation).
    public func revokeCertificate(
        serial: String, reason: RevocationReason?, invalidityDate: Date? = nil,
        by actor: String
    ) async throws -> RevocationResult {
        try Self.checkRevocationReason(reason)
        let now = clock.now()
        guard let record = try await store.certificate(serial: serial) else {
            throw StoreError.notFound("certificate \(serial) is not known")
        }
        let results = try await commit([
            .revoke(
                RevocationRecord(
                    serial: serial, issuerSKI: record.issuerSKI, revokedAt: now, reason: reason,
                    invalidityDate: invalidityDate)),
            .audit(
                AuditEntry(
                    time: now, actor: actor, action: "certificate.revoked", subject: serial,
                    details: ["reason": reason?.name ?? "none"])),
        ])
        guard case .revoked(let result) = results.first else { throw StoreError(.database, "revocation produced no result") }
        return result
    }

    /// Revokes an agent and its whole certificate line (every certificate it ever had, including
    /// superseded ones and unfinished reservations) in one unit of work. The line is read inside
    /// the write transaction (``StoreOperation/revokeAgentLine(_:at:reason:)``): a renewal racing
    /// this call is either in the line or refused, and one reserved before but signed after is
    /// revoked when it is recorded (``completeIssuance(serial:certificateDER:)``).
    public func revokeAgent(_ id: AgentID, reason: RevocationReason?, by actor: String) async throws -> [RevocationResult] {
        try Self.checkRevocationReason(reason)
        let now = clock.now()
        let results = try await commit([
            .revokeAgentLine(id, at: now, reason: reason),
            .audit(
                AuditEntry(
                    time: now, actor: actor, action: "agent.revoked", subject: id.description,
                    details: ["reason": reason?.name ?? "none"])),
        ])
        guard case .revokedLine(let line) = results.first else { throw StoreError(.database, "agent revocation produced no result") }
        return line
    }

    /// Refuses a reason a full CRL cannot carry (removeFromCRL, certificateHold —
    /// ``RevocationReason/isAcceptedForRevocation``), so nothing recorded can block publication.
    static func checkRevocationReason(_ reason: RevocationReason?) throws {
        if let reason, !reason.isAcceptedForRevocation {
            throw StoreError.invalidState("revocation reason \(reason.name) is refused: a full CRL of this CA cannot carry it (RFC 5280 §5.3.1)")
        }
    }

    /// Superseded certificates that policy says must now be revoked (empty when the policy is off).
    public func supersededDueForRevocation() async throws -> [CertificateRecord] {
        guard let after = policy.revokeSupersededAfter else { return [] }
        return try await store.superseded(before: clock.now() - after)
    }

    /// Applies `revoke-superseded-after`: revokes every due superseded certificate with reason
    /// `superseded` (RFC 5280 §5.3.1).
    public func revokeDueSuperseded(by actor: String = "system") async throws -> [RevocationResult] {
        let due = try await supersededDueForRevocation()
        guard !due.isEmpty else { return [] }
        let now = clock.now()
        var operations: [StoreOperation] = []
        for record in due {
            operations.append(.revoke(RevocationRecord(serial: record.serial, issuerSKI: record.issuerSKI, revokedAt: now, reason: .superseded)))
            operations.append(
                .audit(
                    AuditEntry(
                        time: now, actor: actor, action: "certificate.revoked", subject: record.serial,
                        details: ["reason": RevocationReason.superseded.name, "policy": "revoke-superseded-after"])))
        }
        return try await commit(operations).compactMap { if case .revoked(let r) = $0 { r } else { nil } }
    }
}
