import Foundation

extension RegistrationAuthority {
    /// Decides a renewal (`simplereenroll`) presented with the client certificate `presentedSerial`.
    /// Allowed only with the agent's current certificate — issued (not superseded, not revoked),
    /// inside its validity period, for an active agent — whose hostname and UUID the CSR repeats,
    /// and only from ``RegistrationPolicy/renewBefore`` before expiry.
    public func evaluateRenewal(presentedSerial: String, request identity: RequestIdentity) async throws -> RenewalDecision {
        let now = clock.now()
        let current: CertificateRecord
        switch try await renewableCertificate(serial: presentedSerial, at: now) {
        case .renewable(let record): current = record
        case .refused(let refusal): return .refused(refusal)
        }
        guard let agentID = current.agentID, let agent = try await store.agent(agentID) else {
            return .refused(.notRenewable("certificate \(presentedSerial) belongs to no agent"))
        }
        guard agent.status == .active else { return .refused(.agentRevoked(agent.id)) }
        // A name the appliance has since taken for itself is not issued again (issue #11).
        if policy.isReserved(identity.hostname) { return .refused(.reservedName(identity.hostname)) }
        guard identity.agentID == agent.id, identity.hostname == agent.hostname else {
            return .refused(.identityMismatch(
                "request names \(identity.hostname)/\(identity.agentID), certificate belongs to \(agent.hostname)/\(agent.id)"))
        }
        let renewFrom = current.notAfter - policy.renewBefore
        guard now >= renewFrom else { return .refused(.notYetDue(renewFrom: renewFrom)) }
        return .issue(IssuanceAuthorization(basis: .renewal(predecessorSerial: current.serial), identity: identity,
                                            actor: "agent:\(agent.id)"))
    }

    /// The presented certificate's state for `GET /api/v1/agent/status`, with `renewNow`.
    public func status(presentedSerial: String) async throws -> CertificateStatusReport {
        let now = clock.now()
        guard let record = try await store.certificate(serial: presentedSerial) else {
            throw StoreError.notFound("certificate \(presentedSerial) is not known")
        }
        var revocation: RevocationRecord?
        if case .revoked(let found) = try await store.revocationStatus(serial: presentedSerial) { revocation = found }
        let renewFrom = record.notAfter - policy.renewBefore
        var renewable = false
        // The same two reads decide renewability: not read again (this route runs on every agent poll).
        if case .renewable = Self.renewability(of: record, revoked: revocation != nil, at: now) { renewable = true }
        return CertificateStatusReport(certificate: record, revocation: revocation, renewFrom: renewFrom,
                                       renewNow: renewable && now >= renewFrom)
    }

    /// The certificate if it is the agent's current valid one, else why not.
    private func renewableCertificate(serial: String, at now: Date) async throws -> Renewability {
        guard let record = try await store.certificate(serial: serial) else {
            return .refused(.notRenewable("certificate \(serial) is not known"))
        }
        // Revocation is looked up in the revocation store too: a lookup failure throws (fail closed).
        var revoked = false
        if case .revoked = try await store.revocationStatus(serial: serial) { revoked = true }
        return Self.renewability(of: record, revoked: revoked, at: now)
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
