import Foundation

extension RegistrationAuthority {
    /// Decides a renewal (`simplereenroll`) presented with the client certificate `presentedSerial`.
    /// Allowed only with the agent's current certificate — issued (not superseded, not revoked),
    /// inside its validity period, for an active agent — whose hostname and UUID the CSR repeats,
    /// and only from ``RegistrationPolicy/renewBefore`` before expiry.
    ///
    /// A retry whose answer was lost is not refused: when the presented certificate was
    /// superseded by a successor issued for the very key this CSR carries, the decision is
    /// ``RenewalDecision/redeliver(_:)`` with that successor (audited), so the agent is never
    /// locked out by a dropped response (RFC 7030 §4.2.2 leaves retries to the client).
    public func evaluateRenewal(presentedSerial: String, request identity: RequestIdentity) async throws -> RenewalDecision {
        let now = clock.now()
        guard let presented = try await store.certificate(serial: presentedSerial) else {
            return .refused(.notRenewable("certificate \(presentedSerial) is not known"))
        }
        // Revocation is looked up in the revocation store too: a lookup failure throws (fail closed).
        var revoked = false
        if case .revoked = try await store.revocationStatus(serial: presentedSerial) { revoked = true }
        if presented.status == .superseded, !revoked, let successor = try await redeliverable(after: presented, to: identity, at: now) {
            return successor
        }
        let current: CertificateRecord
        switch Self.renewability(of: presented, revoked: revoked, at: now) {
        case .renewable(let record): current = record
        case .refused(let refusal): return .refused(refusal)
        }
        let agent: Agent
        switch try await owner(of: current, matching: identity) {
        case .success(let found): agent = found
        case .failure(let refusal): return .refused(refusal.refusal)
        }
        let renewFrom = current.notAfter - policy.renewBefore
        guard now >= renewFrom else { return .refused(.notYetDue(renewFrom: renewFrom)) }
        return .issue(
            IssuanceAuthorization(
                basis: .renewal(predecessorSerial: current.serial), identity: identity,
                actor: "agent:\(agent.id)"))
    }

    /// The successor of a superseded, still valid agent certificate, if it was issued for the key
    /// of `identity`'s CSR and is itself current (issued, not superseded, not revoked); the
    /// re-delivery is audited. Anything else is `nil` and the ordinary refusal applies.
    private func redeliverable(after presented: CertificateRecord, to identity: RequestIdentity, at now: Date) async throws -> RenewalDecision? {
        guard presented.type == .agent, presented.isWithinValidity(at: now) else { return nil }
        guard case .success(let agent) = try await owner(of: presented, matching: identity) else { return nil }
        let successors = try await store.lineage(serial: presented.serial).filter { $0.predecessorSerial == presented.serial }
        guard let successor = successors.first(where: { $0.status == .issued }), let der = successor.certificateDER,
            CertificateKeyDigest.spkiSHA256Hex(certificateDER: der) == identity.spkiSHA256
        else { return nil }
        if case .revoked = try await store.revocationStatus(serial: successor.serial) { return nil }
        _ = try await commit([
            .audit(
                AuditEntry(
                    time: now, actor: "agent:\(agent.id)", action: "certificate.redelivered", subject: successor.serial,
                    details: ["predecessor": presented.serial, "spki_sha256": identity.spkiSHA256]))
        ])
        return .redeliver(successor)
    }

    /// The active agent owning `record`, if the request repeats its UUID and hostname.
    private func owner(of record: CertificateRecord, matching identity: RequestIdentity) async throws -> Result<Agent, RefusalError> {
        guard let agentID = record.agentID, let agent = try await store.agent(agentID) else {
            return .failure(RefusalError(.notRenewable("certificate \(record.serial) belongs to no agent")))
        }
        guard agent.status == .active else { return .failure(RefusalError(.agentRevoked(agent.id))) }
        // A name the appliance has since taken for itself is not issued again (issue #11).
        if policy.isReserved(identity.hostname) { return .failure(RefusalError(.reservedName(identity.hostname))) }
        // The one identity check of a renewal (RFC 7030 §4.2.2): the agent the store records for the
        // presented certificate, which the client authenticator has matched to the certificate.
        if let mismatch = IdentityMismatch.between(identity, agent) { return .failure(RefusalError(.identityMismatch(mismatch))) }
        return .success(agent)
    }

    /// The presented certificate's state for `GET /api/v1/agent/status`, with `renewNow`.
    public func status(presentedSerial: String) async throws -> CertificateStatusReport {
        let now = clock.now()
        // One store read in the common case: the revocation lookup carries the certificate record
        // when there is no revocation (this route runs on every agent poll); only a revoked
        // certificate needs its record read separately.
        let record: CertificateRecord
        var revocation: RevocationRecord?
        switch try await store.revocationStatus(serial: presentedSerial) {
        case .notRevoked(let found):
            record = found
        case .revoked(let found):
            revocation = found
            guard let revoked = try await store.certificate(serial: presentedSerial) else {
                throw StoreError.notFound("certificate \(presentedSerial) is not known")
            }
            record = revoked
        case .unknown:
            throw StoreError.notFound("certificate \(presentedSerial) is not known")
        }
        let renewFrom = record.notAfter - policy.renewBefore
        var renewable = false
        // The same read decides renewability: not read again.
        if case .renewable = Self.renewability(of: record, revoked: revocation != nil, at: now) { renewable = true }
        return CertificateStatusReport(
            certificate: record, revocation: revocation, renewFrom: renewFrom,
            renewNow: renewable && now >= renewFrom)
    }

    /// The renewal rules on an already-read certificate and its revocation status.
    private static func renewability(of record: CertificateRecord, revoked: Bool, at now: Date) -> Renewability {
        let serial = record.serial
        if revoked { return .refused(.notRenewable("certificate \(serial) is revoked")) }
        switch record.status {
        case .issued: break
        case .superseded: return .refused(.notRenewable("certificate \(serial) was superseded by a renewal"))
        case .revoked: return .refused(.notRenewable("certificate \(serial) is revoked"))
        case .reserved: return .refused(.notRenewable("certificate \(serial) was never recorded as issued"))
        }
        guard record.type == .agent else { return .refused(.notRenewable("certificate \(serial) is not an agent certificate")) }
        guard record.isWithinValidity(at: now) else {
            return .refused(.notRenewable("certificate \(serial) is outside its validity period"))
        }
        return .renewable(record)
    }
}

/// Whether a presented certificate may be renewed.
private enum Renewability {
    case renewable(CertificateRecord)
    case refused(Refusal)
}
