import Foundation
import TestSupport
import Testing

/// One CRL publisher per issuer across nodes (docs/architecture.md#crl-leadership): two real
/// `appliance serve` processes on one PostgreSQL database, checked from outside — curl fetches
/// each node's CRL, openssl verifies and reads it, psql reads the advisory lock and the stored CRL,
/// and the leader is killed with SIGKILL (no chance to hand over).
@Suite("appliance on PostgreSQL: one CRL publisher per issuer, takeover after kill -9", .serialized)
struct PostgreSQLCRLLeadershipTests {
    /// What openssl reads from a node's intermediate CRL.
    struct FetchedCRL {
        let der: Data
        let number: Int
        let text: String
        let nextUpdate: Date
    }

    /// Fetches `http`'s `/crl/intermediate.crl` with curl; openssl verifies it with the intermediate
    /// and prints it. Nil while the node serves none or it does not verify.
    static func fetch(_ app: ApplianceProcess, http: Int) throws -> FetchedCRL? {
        let file = app.directory.file("crl-\(UUID().uuidString).crl")
        let fetched = try ExternalTool("curl").run(["-sS", "-f", "--max-time", "5", "-o", file, "http://127.0.0.1:\(http)/crl/intermediate.crl"])
        guard fetched.succeeded, let der = FileManager.default.contents(atPath: file) else { return nil }
        let printed = try ExternalTool("openssl").run([
            "crl", "-inform", "DER", "-in", file, "-noout", "-text", "-crlnumber", "-nextupdate",
            "-CAfile", app.state.path("ca", "intermediate-ca.crt"),
        ])
        guard printed.succeeded, printed.output.contains("verify OK") else { return nil }
        guard let numberLine = printed.stdout.split(separator: "\n").first(where: { $0.hasPrefix("crlNumber=") }),
            let number = Int(numberLine.dropFirst("crlNumber=".count).replacingOccurrences(of: "0x", with: ""), radix: 16),
            let nextLine = printed.stdout.split(separator: "\n").first(where: { $0.hasPrefix("nextUpdate=") })
        else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        let nextText = nextLine.dropFirst("nextUpdate=".count).split(separator: " ").filter { !$0.isEmpty }.joined(separator: " ")
        guard let nextUpdate = formatter.date(from: nextText) else { return nil }
        return FetchedCRL(der: der, number: number, text: printed.stdout, nextUpdate: nextUpdate)
    }

    /// `rootkeeper_crl_leader` of node `http` (1: it holds the publisher lock), nil when absent.
    static func leads(http: Int) throws -> Bool? {
        let metrics = try ExternalTool("curl").run(["-sS", "--max-time", "5", "http://127.0.0.1:\(http)/metrics"]).stdout
        guard let line = metrics.split(separator: "\n").first(where: { $0.hasPrefix("rootkeeper_crl_leader{") }) else { return nil }
        return line.hasSuffix(" 1")
    }

    /// Waits (bounded) until `condition` holds, returning how long it took, nil on timeout.
    static func waitUntil(_ seconds: TimeInterval, _ condition: () throws -> Bool) rethrows -> TimeInterval? {
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            if try condition() { return Date().timeIntervalSince(start) }
            usleep(100_000)
        }
        return nil
    }

    @Test(
        "two serve processes: exactly one holds the issuer's publisher lock, both serve the same CRL bytes, numbers strictly increase across nodes; after kill -9 of the leader the other takes over within 10 s and lists a revocation made after the kill"
    )
    func leadershipAndTakeover() async throws {
        let cluster = try PostgreSQLCluster.shared()
        let database = try cluster.createDatabase(prefix: "crlleader")
        defer { cluster.dropDatabase(database) }
        try await ApplianceProcess.with(extraConfiguration: PostgreSQLServeTests.storeYAML(cluster, database: database)) { app in
            let b = try app.startSecondNode(cluster, database: database)
            defer {
                b.process.stop()
                ProcessReaper.terminate(commandLineContaining: b.state)
            }
            let nodes = [(name: "A", http: app.http, state: app.stateRoot), (name: "B", http: b.http, state: b.state)]

            // Exactly one leader, seen by the nodes (metric) and by PostgreSQL (one granted lock).
            var leaders: [Bool?] = []
            _ = try Self.waitUntil(10) {
                leaders = try nodes.map { try Self.leads(http: $0.http) }
                return leaders.compactMap { $0 }.count == 2 && leaders.filter { $0 == true }.count == 1
            }
            #expect(leaders.filter { $0 == true }.count == 1 && leaders.filter { $0 == false }.count == 1, "leader gauges \(leaders)")
            #expect(
                try cluster.psql(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = \(0x526B_434C) AND objsubid = 2 AND granted",
                    database: database) == "1")
            let leader = leaders[0] == true ? 0 : 1
            let follower = 1 - leader

            // Both nodes serve the same bytes, the one the database records as current.
            var crls: [FetchedCRL?] = []
            _ = try Self.waitUntil(10) {
                crls = try nodes.map { try Self.fetch(app, http: $0.http) }
                return crls[0] != nil && crls[0]?.der == crls[1]?.der
            }
            let first = try #require(crls[0], "node A serves no verifiable CRL")
            #expect(crls[1]?.der == first.der, "the nodes serve different CRLs: \(crls.map { $0?.number as Any })")
            #expect(
                try cluster.psql("SELECT number FROM crl_current", database: database) == "\(first.number)",
                "the database's current CRL is not the one served")

            // A revocation on the follower: the leader signs the next CRL, both serve it, the number grew.
            var certificates: [(certificate: String, serial: String)] = []
            for n in 0..<2 {
                let name = "crl-leader-\(n).example.org"
                let enrolled = try app.enrol(csrDER: try ApplianceProcess.agentCSR(hostname: name), token: try app.requireToken(hostname: name))
                let certificate = try #require(enrolled.certificate, "\(enrolled.body)")
                certificates.append((certificate, try PostgreSQLServeTests.serial(certificate)))
            }
            let revoke = try ProductBinary.tool("appliance").run([
                "certs", "revoke", certificates[0].serial, "--reason", "keyCompromise", "--state-dir", nodes[follower].state,
            ])
            #expect(revoke.succeeded, "\(revoke.output)")
            var numbers = [first.number]
            let listed = try Self.waitUntil(10) {
                crls = try nodes.map { try Self.fetch(app, http: $0.http) }
                return crls.allSatisfy { $0?.text.uppercased().contains(certificates[0].serial.uppercased()) == true } && crls[0]?.der == crls[1]?.der
            }
            #expect(listed != nil, "both nodes did not serve one CRL listing the revocation within 10 s: \(crls.map { $0?.number as Any })")
            let second = try #require(crls[leader])
            #expect(second.number > first.number)
            numbers.append(second.number)

            // kill -9 the leader: no hand-over. Revoke on the survivor right away.
            let killedAt = Date()
            if leader == 0 {
                app.process.stop(signal: SIGKILL)
            } else {
                b.process.stop(signal: SIGKILL)
            }
            let survivor = nodes[follower]
            let revokeAfter = try ProductBinary.tool("appliance").run([
                "certs", "revoke", certificates[1].serial, "--reason", "superseded", "--state-dir", survivor.state,
            ])
            #expect(revokeAfter.succeeded, "\(revokeAfter.output)")
            var taken: FetchedCRL?
            let tookOver = try Self.waitUntil(15) {
                guard try Self.leads(http: survivor.http) == true, let crl = try Self.fetch(app, http: survivor.http) else { return false }
                taken = crl
                return crl.text.uppercased().contains(certificates[1].serial.uppercased())
            }
            let elapsed = Date().timeIntervalSince(killedAt)
            #expect(tookOver != nil && elapsed <= 10, "node \(survivor.name) took over after \(elapsed) s (limit 10 s)")
            let third = try #require(taken, "node \(survivor.name) never published after the leader was killed")
            numbers.append(third.number)
            #expect(numbers == numbers.sorted() && Set(numbers).count == numbers.count, "CRL numbers across nodes: \(numbers)")
            #expect(third.text.uppercased().contains(certificates[0].serial.uppercased()), "the earlier revocation is missing")
            #expect(third.nextUpdate > Date(), "the survivor serves a stale CRL (nextUpdate \(third.nextUpdate))")
            // The survivor's shared copy is the CRL it served or a newer one: a takeover publishes
            // at once and the revocation's own publication may follow it before this read.
            let stored = try cluster.psql("SELECT number FROM crl_current", database: database)
            #expect((Int(stored) ?? -1) >= third.number, "crl_current holds \(stored), older than the served \(third.number)")
            // The dead leader's session is gone: the one granted lock is the survivor's.
            #expect(
                try cluster.psql(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = \(0x526B_434C) AND objsubid = 2 AND granted",
                    database: database) == "1")
        }
    }
}

extension ApplianceProcess {
    /// A second node on the same database (docs/configuration.md#store): a copy of this node's
    /// state directory without db/, its own configuration and listeners, `store:` naming `hosts`
    /// (default: the cluster), started and healthy.
    struct SecondNode {
        let process: ExternalTool.Running
        let https: Int
        let http: Int
        let state: String
    }

    /// `extra`: YAML lines before `store:` (e.g. a `ca:` block matching this node's).
    func startSecondNode(
        _ cluster: PostgreSQLCluster, database: String, hosts: [String]? = nil, name: String = "b", extra: String = "",
        withoutAuditDirectory: Bool = false
    ) throws -> SecondNode {
        let state = directory.file("state-\(name)")
        let copy = try ExternalTool("cp").run(["-a", stateRoot, state])
        guard copy.succeeded else { throw TestFailure("cp \(stateRoot): \(copy.output)") }
        // Its audit journal stays (it continues from the shared chain) unless the test leaves it
        // out: then `serve` creates audit/ and writes the journal from the store's first event.
        for leftover in ["db", "admin.sock"] + (withoutAuditDirectory ? ["audit"] : []) {
            try? FileManager.default.removeItem(atPath: state + "/" + leftover)
        }
        let config = directory.file("appliance-\(name).yaml")
        try ApplianceProcess.writeConfiguration(
            to: config, state: state, extra: extra + PostgreSQLServeTests.storeYAML(cluster, database: database, hosts: hosts))
        let started = try PostgreSQLServeTests.serve(self, state: state, config: config)
        return SecondNode(process: started.process, https: started.https, http: started.http, state: state)
    }
}
