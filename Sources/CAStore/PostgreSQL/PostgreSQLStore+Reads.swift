import Foundation
import PostgresNIO
import Registration

extension PostgreSQLStore {
    /// One statement outside a transaction (a single statement sees one snapshot).
    func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgreSQLSession) async throws -> T) async throws -> T {
        try await session(what, body)
    }

    // MARK: AgentStore
    public func agent(_ id: AgentID) async throws -> Agent? { try await read("agent") { try await Self.fetchAgent($0, id) } }
    public func agents(hostname: String) async throws -> [Agent] {
        try await read("agents by hostname") {
            try await $0.rows("SELECT * FROM agents WHERE hostname = \(hostname) ORDER BY id").map(Self.decodeAgent)
        }
    }
    public func agents(status: Agent.Status?) async throws -> [Agent] {
        try await read("agents") {
            try await $0.rows("SELECT * FROM agents WHERE \(status?.rawValue)::text IS NULL OR status = \(status?.rawValue) ORDER BY id")
                .map(Self.decodeAgent)
        }
    }

    // MARK: RegistrationStore
    public func registration(_ id: UUID) async throws -> PendingRegistration? {
        try await read("registration") { try await Self.fetchRegistration($0, id) }
    }
    public func openRegistration(hostname: String) async throws -> PendingRegistration? {
        try await read("open registration") { try await Self.fetchOpenRegistration($0, hostname) }
    }
    public func latestRegistration(hostname: String, agentID: AgentID) async throws -> PendingRegistration? {
        try await read("latest registration") {
            try await $0.row(
                """
                SELECT * FROM registrations WHERE hostname = \(hostname) AND agent_id = \(agentID.description)
                ORDER BY created_at DESC, id DESC LIMIT 1
                """
            ).map(Self.decodeRegistration)
        }
    }
    public func pendingRegistrations(sourceAddress: String) async throws -> [PendingRegistration] {
        try await read("pending registrations by source") {
            try await $0.rows(
                """
                SELECT * FROM registrations WHERE source_address = \(sourceAddress) AND status = 'pending' ORDER BY created_at
                """
            ).map(Self.decodeRegistration)
        }
    }
    public func registrations(status: PendingRegistration.Status?) async throws -> [PendingRegistration] {
        try await read("registrations") {
            try await $0.rows(
                """
                SELECT * FROM registrations WHERE \(status?.rawValue)::text IS NULL OR status = \(status?.rawValue) ORDER BY created_at
                """
            ).map(Self.decodeRegistration)
        }
    }

    // MARK: EnrollmentTokenStore
    public func insertToken(_ token: EnrollmentToken) async throws { _ = try await perform([.insertToken(token)]) }
    public func token(sha256: String) async throws -> EnrollmentToken? {
        try await read("token") { try await Self.fetchToken($0, sha256) }
    }
    public func consumeToken(sha256: String, hostname: String, at: Date) async throws -> EnrollmentToken {
        guard case .consumed(let token) = try await perform([.consumeToken(tokenSHA256: sha256, hostname: hostname, at: at)]).first else {
            throw StoreError(.database, "token consumption produced no result")
        }
        return token
    }

    // MARK: CertificateStore
    public func reserveIssuance(_ record: CertificateRecord) async throws { _ = try await perform([.reserveCertificate(record)]) }
    public func recordIssued(serial: String, certificateDER: [UInt8], at: Date) async throws {
        _ = try await perform([.recordIssued(serial: serial, certificateDER: certificateDER, at: at)])
    }
    public func certificate(serial: String) async throws -> CertificateRecord? {
        try await read("certificate") { try await Self.fetchCertificate($0, serial) }
    }
    public func certificates(agent: AgentID) async throws -> [CertificateRecord] {
        try await read("certificates by agent") {
            try await $0.rows("SELECT * FROM certificates WHERE agent_id = \(agent.description) ORDER BY reserved_at, serial")
                .map(Self.decodeCertificate)
        }
    }
    public func certificates(type: CertificateRecord.CertificateType?) async throws -> [CertificateRecord] {
        try await read("certificates by type") {
            try await $0.rows(
                """
                SELECT * FROM certificates WHERE \(type?.rawValue)::text IS NULL OR type = \(type?.rawValue) ORDER BY reserved_at, serial
                """
            ).map(Self.decodeCertificate)
        }
    }
    public func lineage(serial: String) async throws -> [CertificateRecord] {
        // Several reads: one REPEATABLE READ snapshot, like SQLite's read transaction.
        try await transaction("lineage", readOnly: true) { s in
            guard let start = try await Self.fetchCertificate(s, serial) else { return [] }
            var line = [start]
            var seen: Set<String> = [start.serial]
            var cursor = start.predecessorSerial
            while let next = cursor, !seen.contains(next), let record = try await Self.fetchCertificate(s, next) {
                line.insert(record, at: 0)
                seen.insert(next)
                cursor = record.predecessorSerial
            }
            var frontier = [start.serial]
            while let current = frontier.popLast() {
                let successors = try await s.rows("SELECT * FROM certificates WHERE predecessor_serial = \(current) ORDER BY serial")
                    .map(Self.decodeCertificate)
                for successor in successors where !seen.contains(successor.serial) {
                    line.append(successor)
                    seen.insert(successor.serial)
                    frontier.append(successor.serial)
                }
            }
            return line
        }
    }
    public func expiring(withinDays days: Int, now: Date) async throws -> [CertificateRecord] {
        let from = now.timeIntervalSince1970
        let to = now.timeIntervalSince1970 + Double(days) * 86_400
        return try await read("expiring certificates") {
            try await $0.rows(
                """
                SELECT * FROM certificates WHERE status = 'issued' AND not_after >= \(from) AND not_after <= \(to)
                ORDER BY not_after, serial
                """
            ).map(Self.decodeCertificate)
        }
    }
    public func reservations(olderThan cutoff: Date) async throws -> [CertificateRecord] {
        try await read("reservations") {
            try await $0.rows(
                """
                SELECT * FROM certificates WHERE status = 'reserved' AND reserved_at < \(cutoff.timeIntervalSince1970) ORDER BY serial
                """
            ).map(Self.decodeCertificate)
        }
    }
    public func superseded(before cutoff: Date) async throws -> [CertificateRecord] {
        try await read("superseded certificates") {
            try await $0.rows(
                """
                SELECT * FROM certificates c WHERE status = 'superseded' AND superseded_at <= \(cutoff.timeIntervalSince1970)
                AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.serial = c.serial) ORDER BY serial
                """
            ).map(Self.decodeCertificate)
        }
    }
    public func counts() async throws -> [CertificateCount] {
        try await read("certificate counts") {
            try await $0.rows("SELECT type, status, COUNT(*) AS n FROM certificates GROUP BY type, status ORDER BY type, status")
                .map { row in
                    CertificateCount(
                        type: try Self.required(CertificateRecord.CertificateType(rawValue: try row.text("type")), "type"),
                        status: try Self.required(CertificateRecord.Status(rawValue: try row.text("status")), "status"),
                        count: Int(try row.int64("n")))
                }
        }
    }
    public func activeCounts(at now: Date) async throws -> [CertificateRecord.CertificateType: Int] {
        try await read("active certificate counts") {
            var counts: [CertificateRecord.CertificateType: Int] = [:]
            for row in try await $0.rows(
                """
                SELECT type, COUNT(*) AS n FROM certificates WHERE status = 'issued' AND not_after > \(now.timeIntervalSince1970) GROUP BY type
                """)
            {
                counts[try Self.required(CertificateRecord.CertificateType(rawValue: try row.text("type")), "type")] = Int(try row.int64("n"))
            }
            return counts
        }
    }
}
