import CAStore
import Foundation
import Registration
import TestSupport
import Testing

/// A store of one ``StoreKind`` (TestSupport) plus the temporary directory holding its file, or the
/// database it lives in.
struct StoreFixture {
    let kind: StoreKind
    let store: any RegistrationDataStore
    let directory: TemporaryDirectory
    private let made: TestStore
    /// The PostgreSQL server and database of a `postgresql` fixture.
    var postgres: (cluster: PostgreSQLCluster, database: String)? { made.postgres }
    var databasePath: String { directory.file("rootkeeper.sqlite") }

    init(_ kind: StoreKind) async throws {
        self.kind = kind
        directory = try TemporaryDirectory("castore")
        made = try await kind.makeStore(in: directory)
        store = made.store
    }

    /// Edits the store's rows behind its back with an independent tool (sqlite3 or psql).
    func tamper(_ sql: String) throws {
        switch kind {
        case .sqliteFile: try SQLiteShell.run(databasePath, sql)
        case .postgresql:
            let (cluster, database) = try #require(postgres)
            try cluster.psql(sql, database: database)
        case .inMemory: Issue.record("the in-memory store has no SQL to tamper with")
        }
    }

    func remove() {
        made.remove()
        directory.remove()
    }
}

/// Builders for records used across the suites.
enum Sample {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let issuer = "a1b2c3d4e5f60718293a4b5c6d7e8f9011223344"
    static let day: TimeInterval = 86_400

    static func agent(_ n: Int, hostname: String? = nil) -> Agent {
        Agent(id: agentID(n), hostname: hostname ?? "host\(n).example", created: t0)
    }

    static func agentID(_ n: Int) -> AgentID {
        AgentID(UUID(uuidString: String(format: "00000000-0000-4000-8000-%012d", n))!)
    }

    static func serial(_ n: Int) -> String { String(format: "7f%014x", n) }

    static func certificate(
        _ serial: String, agent: AgentID? = nil, predecessor: String? = nil, issuer: String = issuer,
        notAfter: Date = t0 + 90 * day, type: CertificateRecord.CertificateType = .agent
    ) -> CertificateRecord {
        CertificateRecord(
            serial: serial, issuerSKI: issuer, type: type, subject: "CN=agent-test", notBefore: t0,
            notAfter: notAfter, agentID: agent, predecessorSerial: predecessor,
            tbsSHA256: String(repeating: "ab", count: 32), reservedAt: t0)
    }

    static func token(_ text: String, hostname: String? = nil, expires: Date = t0 + day) -> EnrollmentToken {
        EnrollmentToken(
            tokenSHA256: EnrollmentToken.digest(of: text), hostname: hostname, created: t0, expires: expires,
            createdBy: "admin")
    }
}

/// Runs `body` and returns the `StoreError` it throws (recording an issue if it throws nothing else).
func storeError(_ body: () async throws -> Void) async -> StoreError? {
    do {
        try await body()
        return nil
    } catch let error as StoreError {
        return error
    } catch {
        Issue.record("expected a StoreError, got \(error)")
        return nil
    }
}
