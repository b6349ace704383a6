import Foundation
import PKICore

/// The registration authority: every enrolment, approval, renewal, supersession and revocation
/// decision is made here (docs/conventions.md#libraries-decide), with an injected clock and random source. It never signs;
/// the CA signs what the RA authorised and reserved.
///
/// Issuance is a three-step road (docs/conventions.md#signing-path): a decision (`.issue(authorization)`), then
/// ``reserveIssuance(_:certificate:)`` persists intent atomically with the token consumption or
/// registration bookkeeping, then the CA signs and ``completeIssuance(serial:certificateDER:)``
/// records the certificate and supersedes the predecessor.
public struct RegistrationAuthority: Sendable {
    /// Only what the RA reads and writes (``RegistrationAuthorityStore``); writes go through ``commit(_:reservation:)``.
    public let store: any RegistrationAuthorityStore
    public let clock: any PKIClock
    public let random: any RandomSource
    public let policy: RegistrationPolicy
    /// Told what every committed unit of work changed (``commit(_:reservation:)``); fixed here.
    public let events: AuthorityEventStream

    /// - Parameter events: the subscribers that must follow issuance, decisions and revocations
    ///   (the appliance's revocation coordinator and metrics; ``AuthorityEventStream/unobserved``
    ///   where nothing runs that could go stale).
    public init(
        store: any RegistrationAuthorityStore, clock: any PKIClock, random: any RandomSource,
        policy: RegistrationPolicy = RegistrationPolicy(), events: AuthorityEventStream
    ) {
        self.store = store
        self.clock = clock
        self.random = random
        self.policy = policy
        self.events = events
    }

    /// Creates a one-time token (256 bits, base64url after the prefix ``tokenPrefix``) and stores
    /// only its digest. The returned string is shown once to the administrator.
    /// Why a prefix: base64url may start with `-`, and one token in 64 would then be read as an
    /// option by every command line it is pasted into (`agent enroll --token -x…`); and a fixed
    /// prefix lets secret scanners find a leaked token in logs and repositories.
    public static let tokenPrefix = "rkt_"

    /// A hostname bound to a token is canonicalised (lower case) and must be a valid host name
    /// that is not one of the appliance's own names; otherwise ``RefusalError`` says why.
    public func createToken(hostname: String?, by actor: String) async throws -> String {
        var bound: String?
        if let hostname {
            guard let canonical = NameSyntax.canonicalHostname(hostname) else {
                throw RefusalError(.invalidHostname(NameSyntax.invalidHostnameReason(hostname)))
            }
            guard !policy.isReserved(canonical) else { throw RefusalError(.reservedName(canonical)) }
            bound = canonical
        }
        let hostname = bound
        let token =
            Self.tokenPrefix
            + Data(random.bytes(32)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let now = clock.now()
        let record = EnrollmentToken(
            tokenSHA256: EnrollmentToken.digest(of: token), hostname: hostname, created: now,
            expires: now + policy.tokenLifetime, createdBy: actor)
        _ = try await commit([
            .insertToken(record),
            .audit(
                AuditEntry(
                    time: now, actor: actor, action: "token.created", subject: String(record.tokenSHA256.prefix(16)),
                    details: ["hostname": hostname ?? "*"])),
        ])
        return token
    }

    /// Decides a new agent's enrolment (docs/endpoints.md#est-simpleenroll `simpleenroll`).
    ///
    /// The hostname is canonical (lower case) from here on, so `DB3.example.org` and
    /// `db3.example.org` are one name (RFC 4343 §3) and map to one agent. A name the appliance
    /// answers to is refused. A pending registration older than ``RegistrationPolicy/pendingLifetime``
    /// is expired when met; a token bound to the hostname wins over a tokenless pending
    /// registration of another agent (which is rejected and audited); and one source address may
    /// hold at most ``RegistrationPolicy/maxPendingPerSource`` pending registrations.
    public func evaluateEnrollment(_ request: EnrollmentRequest) async throws -> EnrollmentDecision {
        var identity = request.identity
        guard let canonical = NameSyntax.canonicalHostname(identity.hostname) else {
            return .refused(.invalidHostname(NameSyntax.invalidHostnameReason(identity.hostname)))
        }
        identity.hostname = canonical
        if policy.isReserved(canonical) { return .refused(.reservedName(canonical)) }
        let now = clock.now()
        if let token = request.token {
            let digest = EnrollmentToken.digest(of: token)
            guard let stored = try await store.token(sha256: digest) else {
                return .refused(.invalidToken("unknown enrolment token"))
            }
            if let redelivery = try await tokenRedelivery(stored, to: identity, at: now) { return redelivery }
            if let reason = stored.unusableReason(hostname: identity.hostname, at: now) {
                return .refused(.invalidToken(reason))
            }
            if let refusal = try await hostnameRefusal(identity) { return .refused(refusal) }
            if let open = try await openRegistration(hostname: identity.hostname, at: now), open.agentID != identity.agentID {
                // An administrator bound this token to the hostname; a tokenless request proves
                // nothing, so the token wins. An approved registration was an administrator's
                // decision too and is left alone.
                guard stored.hostname != nil, open.status == .pending else { return .refused(.conflict(open)) }
                if let still = try await rejectSquatter(open, tokenSHA256: digest, at: now) { return .refused(.conflict(still)) }
            }
            return .issue(IssuanceAuthorization(basis: .token(sha256: digest), identity: identity, actor: "agent:\(identity.agentID)"))
        }

        // Read (and expire) what holds the hostname first; then this request's own closed
        // registration answers it — rejected (or expired) stays rejected, issued is sent again —
        // even when another agent has registered the hostname since.
        let open = try await openRegistration(hostname: identity.hostname, at: now)
        if let last = try await store.latestRegistration(hostname: identity.hostname, agentID: identity.agentID),
            last.matches(identity), !last.isOpen
        {
            if last.status == .rejected { return .rejected(last) }
            if let serial = last.issuedSerial, let record = try await store.certificate(serial: serial) {
                return .alreadyIssued(record)
            }
        }
        if let open {
            guard open.matches(identity) else { return .refused(.conflict(open)) }
            return open.status == .approved
                ? .issue(IssuanceAuthorization(basis: .registration(open.id), identity: identity, actor: open.decidedBy ?? "admin"))
                : .pending(open)
        }
        if let refusal = try await hostnameRefusal(identity) { return .refused(refusal) }
        if let source = request.sourceAddress, policy.maxPendingPerSource > 0 {
            let held = try await store.pendingRegistrations(sourceAddress: source)
                .filter { !policy.pendingExpired(created: $0.created, at: now) }.count
            if held >= policy.maxPendingPerSource {
                return .refused(.tooManyPending(source: source, limit: policy.maxPendingPerSource))
            }
        }

        let registration = PendingRegistration(
            id: UUID(uuid: uuidBytes()), hostname: identity.hostname, agentID: identity.agentID, csrDER: identity.csrDER,
            spkiSHA256: identity.spkiSHA256, sourceAddress: request.sourceAddress, created: now)
        do {
            _ = try await commit([
                .insertRegistration(registration),
                .audit(
                    AuditEntry(
                        time: now, actor: "agent:\(identity.agentID)", action: "registration.pending",
                        subject: registration.id.uuidString.lowercased(),
                        details: [
                            "hostname": identity.hostname, "spki_sha256": identity.spkiSHA256,
                            "source": request.sourceAddress ?? "",
                        ])),
            ])
            return .pending(registration)
        } catch let error as StoreError where error.code == .conflict {
            // A concurrent request for the same hostname won the race; answer as if it came first.
            guard let winner = try await store.openRegistration(hostname: identity.hostname) else { throw error }
            return winner.matches(identity) ? .pending(winner) : .refused(.conflict(winner))
        }
    }

    /// Approves a pending registration; the agent's next identical request is issued.
    public func approve(registrationID id: UUID, by actor: String) async throws -> PendingRegistration {
        try await decide(id, to: .approved, by: actor, reason: nil)
    }

    /// Rejects a pending registration; the agent's identical requests are refused with `reason`.
    public func reject(registrationID id: UUID, by actor: String, reason: String) async throws -> PendingRegistration {
        try await decide(id, to: .rejected, by: actor, reason: reason)
    }

    private func decide(_ id: UUID, to status: PendingRegistration.Status, by actor: String, reason: String?) async throws -> PendingRegistration {
        let now = clock.now()
        if status == .approved, let registration = try await store.registration(id), registration.status == .pending {
            // Approval is one of the entry points that must not hand out the appliance's own
            // names or revive a registration that has expired.
            if policy.isReserved(registration.hostname) { throw RefusalError(.reservedName(registration.hostname)) }
            if policy.pendingExpired(created: registration.created, at: now) {
                _ = try await expire(registration, at: now)
                throw RefusalError(.registrationExpired(registration))
            }
        }
        _ = try await commit([
            .decideRegistration(id: id, to: status, by: actor, reason: reason, at: now),
            .audit(
                AuditEntry(
                    time: now, actor: actor, action: "registration.\(status.rawValue)",
                    subject: id.uuidString.lowercased(), details: reason.map { ["reason": $0] } ?? [:])),
        ])
        guard let updated = try await store.registration(id) else { throw StoreError.notFound("registration \(id) vanished") }
        return updated
    }

    /// The certificate a consumed token already paid for, again, when the same agent presents the
    /// same token with the same key within ``RegistrationPolicy/tokenRedeliveryWindow`` of its use
    /// (the answer was lost); audited as `certificate.redelivered`. `nil` otherwise.
    private func tokenRedelivery(_ token: EnrollmentToken, to identity: RequestIdentity, at now: Date) async throws -> EnrollmentDecision? {
        guard let consumed = token.consumedAt, now < consumed + policy.tokenRedeliveryWindow, let serial = token.reservedSerial,
            let record = try await store.certificate(serial: serial), record.agentID == identity.agentID,
            record.status == .issued, let der = record.certificateDER,
            CertificateKeyDigest.spkiSHA256Hex(certificateDER: der) == identity.spkiSHA256
        else { return nil }
        if case .revoked = try await store.revocationStatus(serial: serial) { return nil }
        guard let agent = try await store.agent(identity.agentID), agent.status == .active else { return nil }
        _ = try await commit([
            .audit(
                AuditEntry(
                    time: now, actor: "agent:\(identity.agentID)", action: "certificate.redelivered", subject: serial,
                    details: ["basis": "token", "spki_sha256": identity.spkiSHA256]))
        ])
        return .alreadyIssued(record)
    }

    /// A refusal when the hostname is held by another active agent or this agent is already enrolled.
    /// An agent whose every certificate is revoked (reservations released after a failed signing)
    /// holds nothing: the same agent may enrol again with a token (docs/reservations.md).
    private func hostnameRefusal(_ identity: RequestIdentity) async throws -> Refusal? {
        if let agent = try await store.agent(identity.agentID) {
            if agent.status == .revoked { return .agentRevoked(agent.id) }
            if try await holdsCertificate(agent.id) {
                return .alreadyEnrolled("agent \(agent.id) is enrolled; renew with its current certificate")
            }
        }
        for other in try await store.agents(hostname: identity.hostname) where other.status == .active && other.id != identity.agentID {
            if try await holdsCertificate(other.id) {
                return .alreadyEnrolled("hostname \(identity.hostname) belongs to active agent \(other.id)")
            }
        }
        return nil
    }

    /// Whether the agent has a certificate in use (issued or superseded, so still valid for mTLS)
    /// or a reservation still in flight. Revoked ones — released reservations, signatures that
    /// landed too late and were never delivered — hold nothing: a new token may enrol the agent.
    private func holdsCertificate(_ id: AgentID) async throws -> Bool {
        try await store.certificates(agent: id).contains { $0.status != .revoked }
    }

    func uuidBytes() -> uuid_t {
        var b = random.bytes(16)
        b[6] = (b[6] & 0x0f) | 0x40  // RFC 4122 §4.4: version 4
        b[8] = (b[8] & 0x3f) | 0x80  // variant 10
        return (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
    }
}
