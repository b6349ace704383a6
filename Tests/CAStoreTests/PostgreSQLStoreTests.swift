import CAStore
import Foundation
import Registration
import TestSupport
import Testing

/// What only a shared store must show: several appliance nodes (here, several `PostgreSQLStore`
/// pools on one database, as two `appliance serve` processes have) writing at the same moment.
@Suite("PostgreSQL store: several nodes on one database", .serialized)
struct PostgreSQLStoreTests {
    /// Two stores (two nodes) on one fresh database.
    static func twoNodes() async throws -> (PostgreSQLStore, PostgreSQLStore, PostgreSQLCluster, String) {
        let cluster = try PostgreSQLCluster.shared()
        let database = try cluster.createDatabase(prefix: "nodes")
        // These tests are about what concurrent writers leave in the database, not about timeouts:
        // 20 writers per node share a pool of 8 and commit one after another, and on a loaded
        // machine (the whole suite at width 3) the last ones waited more than the default 5 s
        // for a connection and failed the test.
        var configuration = StoreKind.configuration(cluster, database: database)
        configuration.connectTimeout = 60
        // Both nodes start together: the schema is migrated once, under the advisory lock.
        async let a = PostgreSQLStore(configuration: configuration)
        async let b = PostgreSQLStore(configuration: configuration)
        return (try await a, try await b, cluster, database)
    }

    @Test("one token presented on two nodes at once yields exactly one reservation")
    func tokenRaceAcrossNodes() async throws {
        let (a, b, cluster, database) = try await Self.twoNodes()
        defer {
            a.close()
            b.close()
            cluster.dropDatabase(database)
        }
        for round in 0..<10 {
            let text = "race-\(round)"
            try await a.insertToken(Sample.token(text))
            let digest = EnrollmentToken.digest(of: text)
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for (index, node) in [a, b, a, b].enumerated() {
                    let n = round * 10 + index
                    group.addTask {
                        do {
                            _ = try await node.perform([
                                .consumeToken(tokenSHA256: digest, hostname: "h", at: Sample.t0, forSerial: Sample.serial(n)),
                                .ensureAgent(Sample.agent(n)),
                                .reserveCertificate(Sample.certificate(Sample.serial(n), agent: Sample.agentID(n))),
                                .audit(AuditEntry(time: Sample.t0, actor: "agent", action: "test.enrol", subject: Sample.serial(n), details: [:])),
                            ])
                            return true
                        } catch let error as StoreError where error.code == .tokenUnavailable {
                            return false
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(wins == 1, "round \(round): \(wins) nodes consumed one token")
        }
        // Independent count: exactly one reservation per round, and the shared audit chain verifies.
        #expect(try cluster.psql("SELECT count(*) FROM certificates", database: database) == "10")
        guard case .intact(let count, _) = try await b.verifyAuditChain() else {
            Issue.record("the audit chain written by two nodes must verify")
            return
        }
        #expect(count == 10)
    }

    @Test("revocations on two nodes at once: unique, commit-ordered sequence numbers; CRL numbers unique and increasing; one audit chain")
    func revocationsAndCRLNumbersAcrossNodes() async throws {
        let (a, b, cluster, database) = try await Self.twoNodes()
        defer {
            a.close()
            b.close()
            cluster.dropDatabase(database)
        }
        let count = 40
        _ = try await a.perform((0..<count).map { .reserveCertificate(Sample.certificate(Sample.serial($0))) })
        // A reader that follows the sequence while revocations commit: it must never skip one
        // (a number that commits after a higher one would be skipped for good).
        let seen = try await withThrowingTaskGroup(of: [String].self) { group in
            for n in 0..<count {
                let node = n.isMultiple(of: 2) ? a : b
                group.addTask {
                    _ = try await node.perform([
                        .revoke(RevocationRecord(serial: Sample.serial(n), issuerSKI: Sample.issuer, revokedAt: Sample.t0, reason: .keyCompromise)),
                        .audit(AuditEntry(time: Sample.t0, actor: "admin", action: "test.revoke", subject: Sample.serial(n), details: [:])),
                    ])
                    return []
                }
            }
            group.addTask {
                var cursor: Int64 = 0
                var serials: [String] = []
                let deadline = Date().addingTimeInterval(60)
                while serials.count < count, Date() < deadline {
                    let page = try await b.revocations(issuerSKI: Sample.issuer, afterSequence: cursor, limit: 7)
                    serials += page.map(\.record.serial)
                    cursor = page.last?.sequence ?? cursor
                    if page.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
                }
                return serials
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(Set(seen).count == count, "an incremental reader saw \(Set(seen).count) of \(count) revocations")
        let all = try await a.revocations(issuerSKI: Sample.issuer, afterSequence: 0, limit: 1000)
        #expect(Set(all.map(\.sequence)).count == count)
        #expect(try await a.revocationSequence(issuerSKI: Sample.issuer) == all.map(\.sequence).max())

        let numbers = try await withThrowingTaskGroup(of: Int64.self) { group in
            for n in 0..<20 {
                let node = n.isMultiple(of: 2) ? a : b
                group.addTask { try await node.allocateCRLNumber(issuerSKI: Sample.issuer).number }
            }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(numbers.sorted() == Array(1...20))
        guard case .intact(let events, _) = try await a.verifyAuditChain() else {
            Issue.record("the audit chain written by two nodes must verify")
            return
        }
        #expect(events == Int64(count))
    }

    @Test("the schema is versioned: a second open migrates nothing, a database from a newer Rootkeeper is refused")
    func versionedSchema() async throws {
        let cluster = try PostgreSQLCluster.shared()
        let database = try cluster.createDatabase(prefix: "schema")
        defer { cluster.dropDatabase(database) }
        let first = try await PostgreSQLStore(configuration: StoreKind.configuration(cluster, database: database))
        first.close()
        #expect(
            try cluster.psql("SELECT string_agg(identifier, ',' ORDER BY identifier) FROM rootkeeper_migrations", database: database)
                == "v1-initial,v2-shared-crl")
        let again = try await PostgreSQLStore(configuration: StoreKind.configuration(cluster, database: database))
        again.close()
        try cluster.psql("INSERT INTO rootkeeper_migrations (identifier) VALUES ('v99-from-the-future')", database: database)
        let refused = await storeError {
            _ = try await PostgreSQLStore(configuration: StoreKind.configuration(cluster, database: database))
        }
        #expect(refused?.code == .corrupt)
        #expect(refused?.reason.contains("newer Rootkeeper") == true)
    }

    @Test("hosts are tried in order and the writable one wins; no writable host is a clear error")
    func hostList() async throws {
        let cluster = try PostgreSQLCluster.shared()
        let database = try cluster.createDatabase(prefix: "hosts")
        defer { cluster.dropDatabase(database) }
        let dead = try PostgreSQLCluster.freePort()
        var configuration = StoreKind.configuration(cluster, database: database)
        configuration.hosts = [.init(host: "127.0.0.1", port: dead), .init(host: cluster.host, port: cluster.port)]
        let store = try await PostgreSQLStore(configuration: configuration)
        defer { store.close() }
        #expect(store.activeHost.port == cluster.port)
        try await store.insertToken(Sample.token("via-second-host"))

        configuration.hosts = [.init(host: "127.0.0.1", port: dead)]
        let refused = await storeError { _ = try await PostgreSQLStore(configuration: configuration) }
        #expect(refused?.code == .unavailable)
        #expect(refused?.reason.contains("no writable PostgreSQL host") == true)
        #expect(refused?.reason.contains("127.0.0.1:\(dead)") == true)
    }

    @Test("a server that goes away makes operations fail as unavailable, not as wrong answers")
    func serverGone() async throws {
        let cluster = try PostgreSQLCluster.shared()
        let database = try cluster.createDatabase(prefix: "gone")
        let store = try await PostgreSQLStore(configuration: StoreKind.configuration(cluster, database: database))
        defer { store.close() }
        try await store.reserveIssuance(Sample.certificate("aa01"))
        cluster.dropDatabase(database)  // WITH (FORCE): ends the store's connections
        let failure = await storeError { _ = try await store.revocationStatus(serial: "aa01") }
        #expect(failure?.code == .unavailable || failure?.code == .database)
    }
}

@Suite("PostgreSQL store: losing the primary", .serialized)
struct PostgreSQLFailoverTests {
    @Test(
        "primary killed (-9 equivalent: immediate stop), standby promoted: the store says it has no writable host meanwhile, then moves to it on its own and nothing committed is lost"
    )
    func promotedStandby() async throws {
        let primary = try PostgreSQLCluster.start()
        defer { primary.stop(mode: "immediate", remove: true) }
        let database = try primary.createDatabase(prefix: "failover")
        var configuration = StoreKind.configuration(primary, database: database)
        let standby = try PostgreSQLCluster.standby(of: primary)
        defer { standby.stop(mode: "immediate", remove: true) }
        configuration.hosts = [.init(host: primary.host, port: primary.port), .init(host: standby.host, port: standby.port)]
        configuration.connectTimeout = 2
        let store = try await PostgreSQLStore(configuration: configuration)
        defer { store.close() }
        #expect(store.activeHost.port == primary.port)
        for n in 0..<20 { try await store.reserveIssuance(Sample.certificate(Sample.serial(n))) }
        _ = try await store.revoke(RevocationRecord(serial: Sample.serial(3), issuerSKI: Sample.issuer, revokedAt: Sample.t0, reason: .keyCompromise))
        // Wait until the standby has replayed it (asynchronous replication: what it has not
        // received when the primary dies is lost — docs/configuration.md#store).
        var replayed = ""
        for _ in 0..<100 {
            replayed = (try? standby.psql("SELECT count(*) FROM certificates", database: database)) ?? ""
            if replayed == "20" { break }
            usleep(100_000)
        }
        try #require(replayed == "20", "standby replayed \(replayed)")
        // A standby is read-only: a store opened on it alone is refused, naming why.
        var onlyStandby = configuration
        onlyStandby.hosts = [.init(host: standby.host, port: standby.port)]
        let refused = await storeError { _ = try await PostgreSQLStore(configuration: onlyStandby) }
        #expect(refused?.reason.contains("standby in recovery") == true, "\(refused?.reason ?? "")")

        primary.stop(mode: "immediate")
        let down = await storeError { try await store.reserveIssuance(Sample.certificate(Sample.serial(100))) }
        #expect(down?.code == .unavailable, "\(String(describing: down))")
        // What /health and rootkeeper_store_writable report while no primary exists.
        #expect(store.unwritableReason?.contains("no writable PostgreSQL host") == true, "\(store.unwritableReason ?? "nil")")
        try standby.promote()

        var moved = false
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            do {
                try await store.reserveIssuance(Sample.certificate(Sample.serial(101)))
                moved = true
                break
            } catch let error as StoreError where error.code == .unavailable {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        #expect(moved, "the store did not move to the promoted standby")
        #expect(store.activeHost.port == standby.port)
        #expect(store.unwritableReason == nil)
        #expect(try await store.certificates(type: nil).count == 21)
        guard case .revoked(let record) = try await store.revocationStatus(serial: Sample.serial(3)) else {
            Issue.record("the revocation committed before the failover is lost")
            return
        }
        #expect(record.reason == .keyCompromise)
        #expect(try await store.revocationSequence(issuerSKI: Sample.issuer) == 1)
    }
}
