import Foundation

// Narrow store protocols (docs/conventions.md#libraries-decide, boulder's `sa`). Nothing here is SQLite-specific: no rowids,
// no "INSERT OR IGNORE" semantics, no reliance on a single writer. Every read that answers a
// security question (revocation, token, certificate status) throws rather than guessing.

/// Agents known to the appliance.
public protocol AgentStore: Sendable {
    func agent(_ id: AgentID) async throws -> Agent?
    /// Agents with `hostname`, any status.
    func agents(hostname: String) async throws -> [Agent]
    func agents(status: Agent.Status?) async throws -> [Agent]
}

/// Enrolment requests awaiting or having had an administrator's decision.
public protocol RegistrationStore: Sendable {
    func registration(_ id: UUID) async throws -> PendingRegistration?
    /// The open registration (pending, or approved but not yet issued) for `hostname`, if any.
    func openRegistration(hostname: String) async throws -> PendingRegistration?
    /// The most recent registration of this hostname and agent, any status.
    func latestRegistration(hostname: String, agentID: AgentID) async throws -> PendingRegistration?
    func registrations(status: PendingRegistration.Status?) async throws -> [PendingRegistration]
    /// The `pending` registrations that came from `sourceAddress` (expired ones included; the RA
    /// decides expiry with its clock).
    func pendingRegistrations(sourceAddress: String) async throws -> [PendingRegistration]
}

extension RegistrationStore {
    /// Reference semantics: filters every pending registration. SQL stores answer from an index.
    public func pendingRegistrations(sourceAddress: String) async throws -> [PendingRegistration] {
        try await registrations(status: .pending).filter { $0.sourceAddress == sourceAddress }
    }
}

/// One-time enrolment tokens (stored as SHA-256 only).
public protocol EnrollmentTokenStore: Sendable {
    func insertToken(_ token: EnrollmentToken) async throws
    func token(sha256: String) async throws -> EnrollmentToken?
    /// Atomically marks the token used; a second call for the same token throws `tokenUnavailable`,
    /// also when two callers race.
    func consumeToken(sha256: String, hostname: String, at: Date) async throws -> EnrollmentToken
}

/// Issued (and reserved) certificates.
public protocol CertificateStore: Sendable {
    /// Persists intent before signing: row in `reserved`; throws `conflict` for a serial seen before.
    func reserveIssuance(_ record: CertificateRecord) async throws
    /// Completes a reservation with the signed certificate.
    func recordIssued(serial: String, certificateDER: [UInt8], at: Date) async throws
    func certificate(serial: String) async throws -> CertificateRecord?
    /// All certificates of an agent, oldest first.
    func certificates(agent: AgentID) async throws -> [CertificateRecord]
    /// Every certificate of `type` (all types when nil), oldest first — agents', the appliance's
    /// own server certificates and OCSP signing certificates (`appliance certs list`).
    func certificates(type: CertificateRecord.CertificateType?) async throws -> [CertificateRecord]
    /// The renewal line through `serial`: its predecessors and successors, oldest first.
    func lineage(serial: String) async throws -> [CertificateRecord]
    /// Issued certificates whose notAfter lies in `[now, now + days]`, soonest first.
    func expiring(withinDays days: Int, now: Date) async throws -> [CertificateRecord]
    /// Reservations that never completed (a crash between reserve and record).
    func reservations(olderThan: Date) async throws -> [CertificateRecord]
    /// Superseded certificates that were superseded at or before `cutoff` and are not revoked.
    func superseded(before cutoff: Date) async throws -> [CertificateRecord]
    /// Counts by type and status, for metrics.
    func counts() async throws -> [CertificateCount]
    /// Issued (not superseded, not revoked) certificates still valid at `now`, by type
    /// (`rootkeeper_certificates_active`): one aggregate query, not a scan in the caller.
    func activeCounts(at now: Date) async throws -> [CertificateRecord.CertificateType: Int]
}

/// Revocations, per issuer.
public protocol RevocationStore: Sendable {
    /// Revokes a known certificate. Idempotent: revoking again returns the first revocation.
    func revoke(_ record: RevocationRecord) async throws -> RevocationResult
    /// Looks the serial up. Never answers `.notRevoked` without having found the certificate;
    /// throws when it cannot look (fail closed, docs/conventions.md#fail-closed).
    func revocationStatus(serial: String) async throws -> RevocationStatus
    /// Up to `limit` revocations of `issuerSKI` with serial greater than `afterSerial`, in serial
    /// order (keyset pagination: constant cost per page even with 1 000 000 rows).
    func revocations(issuerSKI: String, afterSerial: String?, limit: Int) async throws -> [RevocationRecord]
    func revocationCount(issuerSKI: String) async throws -> Int
    /// The highest revocation sequence number of `issuerSKI` (0 when it has none), or nil when
    /// the store does not number revocations (then every CRL is rebuilt from a full walk).
    /// Sequence numbers are assigned at commit, strictly increasing in commit order.
    func revocationSequence(issuerSKI: String) async throws -> Int64?
    /// Up to `limit` revocations of `issuerSKI` with sequence greater than `afterSequence`, in
    /// sequence order: what was revoked since a CRL was last built (docs/performance.md revoke → CRL).
    func revocations(issuerSKI: String, afterSequence: Int64, limit: Int) async throws -> [SequencedRevocation]
}

/// A revocation with its store-assigned sequence number (``RevocationStore/revocationSequence(issuerSKI:)``).
public struct SequencedRevocation: Sendable, Equatable {
    public var sequence: Int64
    public var record: RevocationRecord
    public init(sequence: Int64, record: RevocationRecord) {
        self.sequence = sequence
        self.record = record
    }
}

extension RevocationStore {
    /// Stores without sequence numbers: CRLs are always rebuilt from a full walk.
    public func revocationSequence(issuerSKI: String) async throws -> Int64? { nil }

    public func revocations(issuerSKI: String, afterSequence: Int64, limit: Int) async throws -> [SequencedRevocation] {
        throw StoreError(.unavailable, "this store does not number revocations")
    }
}

extension RevocationStore {
    /// All revocations of an issuer as pages of at most `pageSize`, for CRL generation. Memory stays
    /// bounded by one page. A revocation committed during the walk may be missed only if its serial
    /// sorts before the cursor; it triggers its own CRL regeneration.
    public func revokedPages(issuerSKI: String, pageSize: Int = 10_000) -> RevokedPages {
        RevokedPages(store: self, issuerSKI: issuerSKI, pageSize: max(1, pageSize))
    }
}

/// Pages of one issuer's revocations (see ``RevocationStore/revokedPages(issuerSKI:pageSize:)``).
public struct RevokedPages: AsyncSequence, Sendable {
    public typealias Element = [RevocationRecord]
    let store: any RevocationStore
    let issuerSKI: String
    let pageSize: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        let pages: RevokedPages
        var cursor: String?
        var finished = false

        public mutating func next() async throws -> [RevocationRecord]? {
            guard !finished else { return nil }
            let page = try await pages.store.revocations(issuerSKI: pages.issuerSKI, afterSerial: cursor, limit: pages.pageSize)
            if page.count < pages.pageSize { finished = true }
            guard let last = page.last else { return nil }
            cursor = last.serial
            return page
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pages: self) }
}

/// Where the CRL publisher learns when revoked certificates expire, so it can prune them
/// (RFC 5280 §3.3: an entry may be removed once the certificate has expired). The revocation rows
/// of ``RevocationStore`` carry no notAfter, so this joins through the certificate records.
///
/// A store conforms where it is declared: SQL stores answer a whole page in a few batched
/// queries (`SELECT serial, not_after FROM certificates WHERE serial IN (...)`). For a store
/// without one, the composition root passes ``PerSerialExpiryLookup`` (with 1 000 000 revocations
/// that is a million queries per CRL, far beyond the 1 s revoke→visible target of docs/performance.md).
public protocol CertificateExpiryLookup: Sendable {
    /// notAfter of each serial the store knows; serials missing from the answer are kept on the
    /// CRL (never prune what cannot be looked up: fail closed). Throws when the store cannot look.
    func notAfter(serials: [String]) async throws -> [String: Date]
}

/// ``CertificateExpiryLookup`` by one ``CertificateStore/certificate(serial:)`` per serial: the
/// reference semantics, for stores without a batched lookup.
public struct PerSerialExpiryLookup: CertificateExpiryLookup {
    let store: any CertificateStore

    public init(store: any CertificateStore) { self.store = store }

    public func notAfter(serials: [String]) async throws -> [String: Date] {
        var result: [String: Date] = [:]
        result.reserveCapacity(serials.count)
        for serial in serials {
            if let record = try await store.certificate(serial: serial) { result[serial] = record.notAfter }
        }
        return result
    }
}

/// CRL numbering and publication state, per issuer.
public protocol CRLStateStore: Sendable {
    /// Allocates the next CRL number: persisted before it is returned, strictly increasing per
    /// issuer across restarts and independent of the clock.
    func allocateCRLNumber(issuerSKI: String) async throws -> CRLNumberAllocation
    /// Records a published CRL (its number must have been allocated).
    func recordPublication(_ publication: CRLPublication) async throws
    func lastPublication(issuerSKI: String) async throws -> CRLPublication?
}

/// The hash-chained audit log.
public protocol AuditLog: Sendable {
    func append(_ entry: AuditEntry) async throws -> AuditEvent
    /// Events with `seq > afterSeq`, at most `limit`, in order.
    func auditEvents(afterSeq: Int64, limit: Int) async throws -> [AuditEvent]
    /// Verifies the whole chain and names the first broken entry.
    func verifyAuditChain() async throws -> AuditVerification
}

// MARK: What each consumer needs (docs/architecture.md#stores)

/// What a CRL publisher needs: its issuer's revocations and CRL numbering (and, given separately,
/// a ``CertificateExpiryLookup`` for pruning).
public typealias CRLPublisherStore = RevocationStore & CRLStateStore

/// What an OCSP responder needs: the status of a serial, and its own signer certificates recorded.
public typealias OCSPResponderStore = RevocationStore & CertificateStore

/// What the mTLS client checks need: revocation status and the registered agent.
public typealias ClientStatusStore = RevocationStore & AgentStore

/// What the RA needs: its decisions read agents, registrations, tokens, certificates and
/// revocation status, and every write is a unit of work (``UnitOfWorkStore``). Neither CRL state
/// nor the audit log's reads: audit entries are operations of the unit.
public typealias RegistrationAuthorityStore = AgentStore & RegistrationStore & EnrollmentTokenStore & CertificateStore
    & RevocationStore & UnitOfWorkStore

/// What the CA's administrative queries need: the RA's reads, and the audit log for the read-only
/// admin actions it records.
public typealias AdministrationStore = RegistrationAuthorityStore & AuditLog

/// A complete store: everything every consumer above needs (what `SQLiteStore` and
/// `InMemoryStore` implement, and the appliance opens).
public typealias RegistrationDataStore = AgentStore & RegistrationStore & EnrollmentTokenStore & CertificateStore
    & RevocationStore & CRLStateStore & AuditLog & UnitOfWorkStore
