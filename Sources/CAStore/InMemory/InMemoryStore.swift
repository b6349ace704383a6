import Foundation
import PKICore
import Registration

/// All store protocols in memory, for unit tests and as the reference semantics the SQL stores
/// must match (the conformance suite runs against both). A unit of work applies to a copy of the
/// state and commits only if every operation succeeds.
public actor InMemoryStore: RegistrationDataStore {
    struct State {
        var agents: [AgentID: Agent] = [:]
        var registrations: [UUID: PendingRegistration] = [:]
        var tokens: [String: EnrollmentToken] = [:]
        var certificates: [String: CertificateRecord] = [:]
        var revocations: [String: RevocationRecord] = [:]
        /// Revoked serials in commit order: the sequence number of `revocationOrder[i]` is i + 1.
        var revocationOrder: [String] = []
        var crlNext: [String: Int64] = [:]
        var publications: [String: CRLPublication] = [:]
        var audit: [AuditEvent] = []
    }

    var state = State()
    /// Per-issuer revocations sorted by serial, rebuilt lazily after any write (CRL walks page
    /// through it without re-sorting per page).
    var sortedRevocations: [String: [RevocationRecord]] = [:]

    public init() {}

    public func perform(_ operations: [StoreOperation]) throws -> [StoreOperationResult] {
        var draft = state
        let results = try operations.map { try draft.apply($0) }
        state = draft
        sortedRevocations = [:]
        return results
    }

    // MARK: AgentStore
    public func agent(_ id: AgentID) -> Agent? { state.agents[id] }
    public func agents(hostname: String) -> [Agent] { state.agents.values.filter { $0.hostname == hostname }.sorted { $0.id < $1.id } }
    public func agents(status: Agent.Status?) -> [Agent] {
        state.agents.values.filter { status == nil || $0.status == status }.sorted { $0.id < $1.id }
    }

    // MARK: RegistrationStore
    public func registration(_ id: UUID) -> PendingRegistration? { state.registrations[id] }
    public func openRegistration(hostname: String) -> PendingRegistration? {
        state.registrations.values.first { NameSyntax.asciiLowercased($0.hostname) == NameSyntax.asciiLowercased(hostname) && $0.isOpen }
    }
    public func latestRegistration(hostname: String, agentID: AgentID) -> PendingRegistration? {
        state.registrations.values.filter { $0.hostname == hostname && $0.agentID == agentID }
            .max { ($0.created, $0.id.uuidString) < ($1.created, $1.id.uuidString) }
    }
    public func registrations(status: PendingRegistration.Status?) -> [PendingRegistration] {
        state.registrations.values.filter { status == nil || $0.status == status }.sorted { $0.created < $1.created }
    }

    // MARK: EnrollmentTokenStore
    public func insertToken(_ token: EnrollmentToken) throws { _ = try perform([.insertToken(token)]) }
    public func token(sha256: String) -> EnrollmentToken? { state.tokens[sha256] }
    public func consumeToken(sha256: String, hostname: String, at: Date) throws -> EnrollmentToken {
        guard case .consumed(let token) = try perform([.consumeToken(tokenSHA256: sha256, hostname: hostname, at: at)]).first else {
            throw StoreError(.database, "token consumption produced no result")
        }
        return token
    }

    // MARK: CertificateStore
    public func reserveIssuance(_ record: CertificateRecord) throws { _ = try perform([.reserveCertificate(record)]) }
    public func recordIssued(serial: String, certificateDER: [UInt8], at: Date) throws {
        _ = try perform([.recordIssued(serial: serial, certificateDER: certificateDER, at: at)])
    }
    public func certificate(serial: String) -> CertificateRecord? { state.certificates[serial] }
    public func certificates(agent: AgentID) -> [CertificateRecord] {
        state.certificates.values.filter { $0.agentID == agent }.sorted { ($0.reservedAt, $0.serial) < ($1.reservedAt, $1.serial) }
    }
    public func certificates(type: CertificateRecord.CertificateType?) -> [CertificateRecord] {
        state.certificates.values.filter { type == nil || $0.type == type }.sorted { ($0.reservedAt, $0.serial) < ($1.reservedAt, $1.serial) }
    }
    public func lineage(serial: String) -> [CertificateRecord] {
        guard let start = state.certificates[serial] else { return [] }
        var older: [CertificateRecord] = []
        var cursor = start.predecessorSerial
        while let s = cursor, let record = state.certificates[s], !older.contains(record) {
            older.insert(record, at: 0)
            cursor = record.predecessorSerial
        }
        var line = older + [start]
        var frontier = [start.serial]
        while let current = frontier.popLast() {
            let successors = state.certificates.values.filter { $0.predecessorSerial == current }.sorted { $0.serial < $1.serial }
            for successor in successors where !line.contains(successor) {
                line.append(successor)
                frontier.append(successor.serial)
            }
        }
        return line
    }
    public func expiring(withinDays days: Int, now: Date) -> [CertificateRecord] {
        let limit = now + Double(days) * 86_400
        return state.certificates.values.filter { $0.status == .issued && $0.notAfter >= now && $0.notAfter <= limit }
            .sorted { ($0.notAfter, $0.serial) < ($1.notAfter, $1.serial) }
    }
    public func reservations(olderThan: Date) -> [CertificateRecord] {
        state.certificates.values.filter { $0.status == .reserved && $0.reservedAt < olderThan }.sorted { $0.serial < $1.serial }
    }
    public func superseded(before cutoff: Date) -> [CertificateRecord] {
        state.certificates.values.filter { record in
            record.status == .superseded && (record.supersededAt.map { $0 <= cutoff } ?? false) && state.revocations[record.serial] == nil
        }.sorted { $0.serial < $1.serial }
    }
    public func counts() -> [CertificateCount] {
        var counts: [String: CertificateCount] = [:]
        for record in state.certificates.values {
            counts["\(record.type)/\(record.status)", default: CertificateCount(type: record.type, status: record.status, count: 0)].count += 1
        }
        return counts.values.sorted { ($0.type.rawValue, $0.status.rawValue) < ($1.type.rawValue, $1.status.rawValue) }
    }

    public func activeCounts(at now: Date) -> [CertificateRecord.CertificateType: Int] {
        state.certificates.values.filter { $0.status == .issued && $0.notAfter > now }
            .reduce(into: [:]) { counts, record in counts[record.type, default: 0] += 1 }
    }

    // MARK: RevocationStore
    public func revoke(_ record: RevocationRecord) throws -> RevocationResult {
        guard case .revoked(let result) = try perform([.revoke(record)]).first else {
            throw StoreError(.database, "revocation produced no result")
        }
        return result
    }
    public func revocationStatus(serial: String) -> RevocationStatus {
        if let revoked = state.revocations[serial] { return .revoked(revoked) }
        if let record = state.certificates[serial] { return .notRevoked(record) }
        return .unknown
    }
    public func revocations(issuerSKI: String, afterSerial: String?, limit: Int) -> [RevocationRecord] {
        let sorted =
            sortedRevocations[issuerSKI]
            ?? {
                let built = state.revocations.values.filter { $0.issuerSKI == issuerSKI }.sorted { $0.serial < $1.serial }
                sortedRevocations[issuerSKI] = built
                return built
            }()
        // Binary search for the first serial after the cursor.
        var low = 0
        var high = sorted.count
        if let after = afterSerial {
            while low < high {
                let mid = (low + high) / 2
                if sorted[mid].serial <= after { low = mid + 1 } else { high = mid }
            }
        }
        return Array(sorted[low..<min(sorted.count, low + max(0, limit))])
    }
    public func revocationSequence(issuerSKI: String) -> Int64? {
        guard let index = state.revocationOrder.lastIndex(where: { state.revocations[$0]?.issuerSKI == issuerSKI }) else { return 0 }
        return Int64(index + 1)
    }
    public func revocations(issuerSKI: String, afterSequence: Int64, limit: Int) -> [SequencedRevocation] {
        let order = state.revocationOrder
        let start = Int(clamping: max(0, min(afterSequence, Int64(order.count))))
        var result: [SequencedRevocation] = []
        for index in start..<order.count where result.count < max(1, limit) {
            if let record = state.revocations[order[index]], record.issuerSKI == issuerSKI {
                result.append(SequencedRevocation(sequence: Int64(index + 1), record: record))
            }
        }
        return result
    }
    public func revocationCount(issuerSKI: String) -> Int { state.revocations.values.filter { $0.issuerSKI == issuerSKI }.count }

    // MARK: CRLStateStore
    public func allocateCRLNumber(issuerSKI: String) -> CRLNumberAllocation {
        let number = state.crlNext[issuerSKI, default: 1]
        state.crlNext[issuerSKI] = number + 1
        return CRLNumberAllocation(number: number, lastThisUpdate: state.publications[issuerSKI]?.thisUpdate)
    }
    public func recordPublication(_ publication: CRLPublication) throws {
        guard publication.number < state.crlNext[publication.issuerSKI, default: 1] else {
            throw StoreError(.invalidArgument, "CRL number \(publication.number) was never allocated")
        }
        if let last = state.publications[publication.issuerSKI], last.number >= publication.number { return }
        state.publications[publication.issuerSKI] = publication
    }
    public func lastPublication(issuerSKI: String) -> CRLPublication? { state.publications[issuerSKI] }

    // MARK: AuditLog
    public func append(_ entry: AuditEntry) throws -> AuditEvent {
        guard case .audited(let event) = try perform([.audit(entry)]).first else {
            throw StoreError(.database, "audit append produced no result")
        }
        return event
    }
    public func auditEvents(afterSeq: Int64, limit: Int) -> [AuditEvent] {
        Array(state.audit.filter { $0.seq > afterSeq }.prefix(limit))
    }
    public func verifyAuditChain() -> AuditVerification { AuditVerification.verify(state.audit) }

    /// Test hook: replaces an audit event as an attacker editing storage would.
    public func tamperWithAuditEvent(seq: Int64, _ edit: @Sendable (inout AuditEvent) -> Void) {
        guard let index = state.audit.firstIndex(where: { $0.seq == seq }) else { return }
        edit(&state.audit[index])
    }
}
