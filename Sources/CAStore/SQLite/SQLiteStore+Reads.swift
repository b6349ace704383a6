import Foundation
import GRDB
import Registration

extension SQLiteStore {
    // MARK: AgentStore
    public func agent(_ id: AgentID) async throws -> Agent? { try await read("agent") { try Self.fetchAgent($0, id) } }
    public func agents(hostname: String) async throws -> [Agent] {
        try await read("agents by hostname") {
            try Row.fetchAll($0, sql: "SELECT * FROM agents WHERE hostname = ? ORDER BY id", arguments: [hostname]).map(Self.decodeAgent)
        }
    }
    public func agents(status: Agent.Status?) async throws -> [Agent] {
        try await read("agents") {
            try Row.fetchAll(
                $0, sql: "SELECT * FROM agents WHERE ? IS NULL OR status = ? ORDER BY id",
                arguments: [status?.rawValue, status?.rawValue]
            ).map(Self.decodeAgent)
        }
    }

    // MARK: RegistrationStore
    public func registration(_ id: UUID) async throws -> PendingRegistration? {
        try await read("registration") { try Self.fetchRegistration($0, id) }
    }
    public func openRegistration(hostname: String) async throws -> PendingRegistration? {
        try await read("open registration") { try Self.fetchOpenRegistration($0, hostname) }
    }
    public func latestRegistration(hostname: String, agentID: AgentID) async throws -> PendingRegistration? {
        try await read("latest registration") {
            try Row.fetchOne(
                $0,
                sql: """
                    SELECT * FROM registrations WHERE hostname = ? AND agent_id = ? ORDER BY created_at DESC, id DESC LIMIT 1
                    """, arguments: [hostname, agentID.description]
            ).map(Self.decodeRegistration)
        }
    }
    public func pendingRegistrations(sourceAddress: String) async throws -> [PendingRegistration] {
        try await read("pending registrations by source") {
            try Row.fetchAll(
                $0, sql: "SELECT * FROM registrations WHERE source_address = ? AND status = 'pending' ORDER BY created_at",
                arguments: [sourceAddress]
            ).map(Self.decodeRegistration)
        }
    }
    public func registrations(status: PendingRegistration.Status?) async throws -> [PendingRegistration] {
        try await read("registrations") {
            try Row.fetchAll(
                $0, sql: "SELECT * FROM registrations WHERE ? IS NULL OR status = ? ORDER BY created_at",
                arguments: [status?.rawValue, status?.rawValue]
            ).map(Self.decodeRegistration)
        }
    }

    // MARK: EnrollmentTokenStore
    public func insertToken(_ token: EnrollmentToken) async throws { _ = try await perform([.insertToken(token)]) }
    public func token(sha256: String) async throws -> EnrollmentToken? { try await read("token") { try Self.fetchToken($0, sha256) } }
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
        try await read("certificate") { try Self.fetchCertificate($0, serial) }
    }
    public func certificates(agent: AgentID) async throws -> [CertificateRecord] {
        try await read("certificates by agent") {
            try Row.fetchAll(
                $0, sql: "SELECT * FROM certificates WHERE agent_id = ? ORDER BY reserved_at, serial",
                arguments: [agent.description]
            ).map(Self.decodeCertificate)
        }
    }
    public func certificates(type: CertificateRecord.CertificateType?) async throws -> [CertificateRecord] {
        try await read("certificates by type") {
            if let type {
                return try Row.fetchAll(
                    $0, sql: "SELECT * FROM certificates WHERE type = ? ORDER BY reserved_at, serial",
                    arguments: [type.rawValue]
                ).map(Self.decodeCertificate)
            }
            return try Row.fetchAll($0, sql: "SELECT * FROM certificates ORDER BY reserved_at, serial").map(Self.decodeCertificate)
        }
    }
    public func lineage(serial: String) async throws -> [CertificateRecord] {
        try await read("lineage") { db in
            guard let start = try Self.fetchCertificate(db, serial) else { return [] }
            var line = [start]
            var seen: Set<String> = [start.serial]
            var cursor = start.predecessorSerial
            while let s = cursor, !seen.contains(s), let record = try Self.fetchCertificate(db, s) {
                line.insert(record, at: 0)
                seen.insert(s)
                cursor = record.predecessorSerial
            }
            var frontier = [start.serial]
            while let current = frontier.popLast() {
                let successors = try Row.fetchAll(
                    db, sql: "SELECT * FROM certificates WHERE predecessor_serial = ? ORDER BY serial",
                    arguments: [current]
                ).map(Self.decodeCertificate)
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
        try await read("expiring certificates") {
            try Row.fetchAll(
                $0,
                sql: """
                    SELECT * FROM certificates WHERE status = 'issued' AND not_after >= ? AND not_after <= ? ORDER BY not_after, serial
                    """, arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970 + Double(days) * 86_400]
            ).map(Self.decodeCertificate)
        }
    }
    public func reservations(olderThan cutoff: Date) async throws -> [CertificateRecord] {
        try await read("reservations") {
            try Row.fetchAll(
                $0, sql: "SELECT * FROM certificates WHERE status = 'reserved' AND reserved_at < ? ORDER BY serial",
                arguments: [cutoff.timeIntervalSince1970]
            ).map(Self.decodeCertificate)
        }
    }
    public func superseded(before cutoff: Date) async throws -> [CertificateRecord] {
        try await read("superseded certificates") {
            try Row.fetchAll(
                $0,
                sql: """
                    SELECT * FROM certificates WHERE status = 'superseded' AND superseded_at <= ?
                    AND serial NOT IN (SELECT serial FROM revocations) ORDER BY serial
                    """, arguments: [cutoff.timeIntervalSince1970]
            ).map(Self.decodeCertificate)
        }
    }
    public func counts() async throws -> [CertificateCount] {
        try await read("certificate counts") {
            try Row.fetchAll($0, sql: "SELECT type, status, COUNT(*) AS n FROM certificates GROUP BY type, status ORDER BY type, status")
                .map { row in
                    CertificateCount(
                        type: try Self.required(CertificateRecord.CertificateType(rawValue: row["type"]), "type"),
                        status: try Self.required(CertificateRecord.Status(rawValue: row["status"]), "status"),
                        count: row["n"])
                }
        }
    }
    public func activeCounts(at now: Date) async throws -> [CertificateRecord.CertificateType: Int] {
        try await read("active certificate counts") {
            var counts: [CertificateRecord.CertificateType: Int] = [:]
            for row in try Row.fetchAll(
                $0,
                sql: """
                    SELECT type, COUNT(*) AS n FROM certificates WHERE status = 'issued' AND not_after > ? GROUP BY type
                    """, arguments: [now.timeIntervalSince1970])
            {
                counts[try Self.required(CertificateRecord.CertificateType(rawValue: row["type"]), "type")] = row["n"]
            }
            return counts
        }
    }
}
