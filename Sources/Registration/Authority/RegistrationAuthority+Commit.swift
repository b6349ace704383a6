import Foundation

extension RegistrationAuthority {
    /// The RA's one way to write (docs/architecture.md#event-stream): applies `operations` as one
    /// unit of work and then tells ``events`` what the unit changed — issued certificates, decided
    /// registrations, revoked certificates and agents — derived here from the store's results, so
    /// no path that issues or revokes can reach the store without reaching the subscribers.
    ///
    /// `reservation` is the reserved row a ``StoreOperation/recordIssued(serial:certificateDER:at:)``
    /// completes (that operation's result carries no record); a unit that records an issuance
    /// without it is refused before anything is written, rather than issuing unannounced.
    @discardableResult
    func commit(_ operations: [StoreOperation], reservation: CertificateRecord? = nil) async throws -> [StoreOperationResult] {
        for case .recordIssued(let serial, _, _) in operations where reservation?.serial != serial {
            throw StoreError(.invalidState, "recording serial \(serial) needs its reservation, so that its issuance is announced")
        }
        let results = try await store.perform(operations)
        await events.emit(Self.events(of: operations, results: results, reservation: reservation))
        return results
    }

    /// What a committed unit changed, as events: issuances and decisions in the unit's order,
    /// then one event for the plain revocations of the unit (an agent's line is its own event).
    static func events(
        of operations: [StoreOperation], results: [StoreOperationResult],
        reservation: CertificateRecord?
    ) -> [AuthorityEvent] {
        var events: [AuthorityEvent] = []
        var revocations: [RevocationResult] = []
        for (operation, result) in zip(operations, results) {
            switch (operation, result) {
            case (.revokeAgentLine(let agent, _, _), .revokedLine(let line)):
                events.append(.revoked(line, agent: agent))
            case (.revokeAgent(let agent, _), _):
                events.append(.revoked([], agent: agent))
            case (_, .revoked(let revocation)):
                revocations.append(revocation)
            case (_, .released(let released)):
                revocations.append(released.revocation)
            case (_, .completed(let record, let revocation)):
                // Recorded but revoked in the same transaction: never handed out, so not issued.
                if let revocation {
                    revocations.append(revocation)
                } else {
                    events.append(.issued(record, renewal: record.predecessorSerial != nil))
                }
            case (.recordIssued(let serial, let der, let at), _):
                if var record = reservation, record.serial == serial {
                    record.status = .issued
                    record.certificateDER = der
                    record.issuedAt = at
                    events.append(.issued(record, renewal: record.predecessorSerial != nil))
                }
            case (.decideRegistration(let id, let status, _, _, _), _):
                events.append(.registrationDecided(id: id, status: status))
            default:
                break
            }
        }
        if !revocations.isEmpty { events.append(.revoked(revocations, agent: nil)) }
        return events
    }
}
