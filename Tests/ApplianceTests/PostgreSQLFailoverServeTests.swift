import Foundation
import TestSupport
import Testing

/// Losing the database primary under running nodes (docs/configuration.md#store, Runbooks/ha-postgresql.md):
/// a primary and a synchronous streaming standby (`pg_basebackup -R`), two real `appliance serve`
/// processes whose host list names both, an issuance storm over curl against both nodes, the
/// primary killed with SIGKILL and the standby promoted. Checked from outside: every certificate
/// a client received is in the promoted database (psql, byte for byte), no serial twice, both
/// nodes healthy again on their own. And an agent that knows both nodes' URLs renews while one
/// node is down.
@Suite("appliance on PostgreSQL: primary failover under two running nodes; agent renewal across nodes", .serialized)
struct PostgreSQLFailoverServeTests {
    /// One enrolment a client saw succeed: which node answered, the serial, the DER in hex.
    struct Received: Sendable {
        let node: String
        let serial: String
        let derHex: String
        let afterPromotion: Bool
    }

    /// The DER (hex) of a PEM certificate, by openssl.
    static func derHex(_ certificate: String) throws -> String {
        let der = certificate + ".der"
        let converted = try ExternalTool("openssl").run(["x509", "-in", certificate, "-outform", "DER", "-out", der])
        guard converted.succeeded, let bytes = FileManager.default.contents(atPath: der) else {
            throw TestFailure("openssl x509: \(converted.output)")
        }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The HTTP status of `/health` on `http`.
    static func health(_ http: Int) throws -> Int {
        Int(
            try ExternalTool("curl").run(["-sS", "-o", "/dev/null", "--max-time", "5", "-w", "%{http_code}", "http://127.0.0.1:\(http)/health"])
                .stdout) ?? 0
    }

    @Test(
        "issuance storm on two nodes, kill -9 of the primary, standby promoted: both nodes reconnect on their own and issue again; every certificate received is in the promoted database, no serial twice"
    )
    func primaryFailoverUnderStorm() async throws {
        // Synchronous replication: a commit returns only once the standby has it (so a client
        // never holds a certificate the standby lacks). The standby clears the setting, or once
        // promoted, alone, it would wait for a standby of its own on every commit.
        let primary = try PostgreSQLCluster.start(configure: ["wal_level = replica", "max_wal_senders = 5", "synchronous_commit = on"])
        defer { primary.stop(mode: "immediate", remove: true) }
        let database = try primary.createDatabase(prefix: "failover")
        let standby = try PostgreSQLCluster.standby(of: primary, configure: ["synchronous_standby_names = ''"])
        defer { standby.stop(mode: "immediate", remove: true) }
        // Only now (a commit would wait for ever while no standby is connected): every commit waits for the standby.
        try primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        try primary.psql("SELECT pg_reload_conf()")
        var synchronous = ""
        for _ in 0..<100 {
            synchronous = try primary.psql("SELECT sync_state FROM pg_stat_replication")
            if synchronous == "sync" { break }
            usleep(100_000)
        }
        try #require(synchronous == "sync", "the standby is not a synchronous standby: '\(synchronous)'")

        let hosts = ["\(primary.host):\(primary.port)", "\(standby.host):\(standby.port)"]
        let store = PostgreSQLServeTests.storeYAML(primary, database: database, hosts: hosts)
        try await ApplianceProcess.with(extraConfiguration: store) { app in
            let b = try app.startSecondNode(primary, database: database, hosts: hosts)
            defer {
                b.process.stop()
                ProcessReaper.terminate(commandLineContaining: b.state)
            }
            let nodes = [("A", app.https), ("B", b.https)]
            // Tokens for the whole storm, made while the primary is up (replicated synchronously).
            let tokens = try (0..<40).map { n in try app.requireToken(hostname: "storm-\(n).example.org") }

            let promoted = PromotionFlag()
            // Two clients at once, one starting on each node; each token is used until it yields a
            // certificate (a failed attempt is retried on the other node), bounded by a deadline.
            let deadline = Date().addingTimeInterval(120)
            let storm = Task { () -> (received: [Received], failures: Int, spent: Int) in
                try await withThrowingTaskGroup(of: ([Received], Int, Int).self) { group in
                    for worker in 0..<2 {
                        group.addTask {
                            var received: [Received] = []
                            var failures = 0
                            var spent = 0
                            for n in stride(from: worker, to: tokens.count, by: 2) {
                                var attempt = worker
                                while Date() < deadline {
                                    let (name, port) = nodes[attempt % 2]
                                    let csr = try ApplianceProcess.agentCSR(hostname: "storm-\(n).example.org")
                                    let result = try app.enrolOn(https: port, csrDER: csr, token: tokens[n])
                                    if result.status == 200, let certificate = result.certificate {
                                        received.append(
                                            Received(
                                                node: name, serial: try PostgreSQLServeTests.serial(certificate),
                                                derHex: try Self.derHex(certificate), afterPromotion: promoted.isSet))
                                        break
                                    }
                                    // Spent by a commit whose answer the crash swallowed: this client
                                    // moves on (a real agent would ask for a new token).
                                    if result.body.contains("already used") {
                                        spent += 1
                                        break
                                    }
                                    failures += 1
                                    attempt += 1
                                    usleep(200_000)
                                }
                            }
                            return (received, failures, spent)
                        }
                    }
                    return try await group.reduce(into: ([Received](), 0, 0)) {
                        $0.0 += $1.0
                        $0.1 += $1.1
                        $0.2 += $1.2
                    }
                }
            }

            // Let the storm run, then kill the primary mid-storm and promote the standby.
            for _ in 0..<100 {
                if Int(try standby.psql("SELECT count(*) FROM certificates WHERE type = 'agent'", database: database)) ?? 0 >= 8 { break }
                usleep(100_000)
            }
            try primary.kill9()
            usleep(1_000_000)
            try standby.promote()
            promoted.set()
            let (received, failures, spent) = try await storm.value

            // Every token gave a certificate, on both nodes, also after the promotion — except at most
            // one per client: the request in flight when the primary died may have spent its token
            // in a commit that reached the standby while its answer was lost (the certificate, if
            // signed, is then in the database; the client asks for a new token).
            #expect(spent <= 2, "\(spent) tokens were spent without an answer (at most one per client may be)")
            #expect(
                received.count + spent == tokens.count,
                "\(received.count) of \(tokens.count) enrolments succeeded, \(spent) tokens spent in flight (\(failures) failed attempts)")
            let afterPromotion = received.filter(\.afterPromotion)
            #expect(Set(afterPromotion.map(\.node)) == ["A", "B"], "nodes that issued after the promotion: \(Set(afterPromotion.map(\.node)))")
            // No serial twice, and every certificate a client holds is in the promoted database, byte for byte.
            #expect(Set(received.map(\.serial)).count == received.count, "a serial was issued twice")
            let rows = try standby.psql("SELECT serial || '|' || encode(der, 'hex') FROM certificates WHERE der IS NOT NULL", database: database)
            var stored: [String: String] = [:]
            for line in rows.split(separator: "\n") {
                let parts = line.split(separator: "|")
                if parts.count == 2 { stored[String(parts[0])] = String(parts[1]) }
            }
            for certificate in received {
                #expect(
                    stored[certificate.serial] == certificate.derHex,
                    "certificate \(certificate.serial) from node \(certificate.node) is not in the promoted database")
            }
            #expect(try standby.psql("SELECT count(*) - count(DISTINCT serial) FROM certificates", database: database) == "0")
            // Both nodes say they can write again, without a restart.
            for (name, http) in [("A", app.http), ("B", b.http)] {
                var status = 0
                for _ in 0..<100 {
                    status = try Self.health(http)
                    if status == 200 { break }
                    usleep(100_000)
                }
                #expect(status == 200, "node \(name) /health after the promotion: \(status)")
            }
            // The audit chain the two nodes wrote through the failover still verifies.
            let verified = try ProductBinary.tool("appliance").run(["audit", "verify", "--state-dir", app.stateRoot])
            #expect(verified.succeeded, "\(verified.output)")
        }
    }

    @Test("SIGTERM while the database is down: serve stops within 5 s, its background services cut short, not waiting out store timeouts")
    func stopsPromptlyWithTheDatabaseDown() async throws {
        let cluster = try PostgreSQLCluster.start()
        defer { cluster.stop(mode: "immediate", remove: true) }
        let database = try cluster.createDatabase(prefix: "stopdown")
        try await ApplianceProcess.with(extraConfiguration: PostgreSQLServeTests.storeYAML(cluster, database: database)) { app in
            cluster.stop(mode: "immediate")
            // Long enough for every background loop to be in, or retrying, a store call.
            try await Task.sleep(for: .seconds(4))
            let process = app.process
            try #require(process.isRunning, "serve exited on its own when the database went away: \(app.output)")
            let signalled = Date()
            kill(process.pid, SIGTERM)
            while process.isRunning && Date().timeIntervalSince(signalled) < 40 { usleep(50_000) }
            let seconds = Date().timeIntervalSince(signalled)
            #expect(
                !process.isRunning && seconds < 5,
                "serve took \(String(format: "%.1f", seconds)) s to stop after SIGTERM (still running: \(process.isRunning)); its last lines: \(app.output.split(separator: "\n").suffix(12).joined(separator: "\n"))"
            )
        }
    }

    @Test("an agent enrolled with both nodes' URLs renews through the second while the first node is down")
    func agentRenewsThroughTheOtherNode() async throws {
        let cluster = try PostgreSQLCluster.shared()
        let database = try cluster.createDatabase(prefix: "agenturls")
        defer { cluster.dropDatabase(database) }
        // The renewal window is open at once (the decision is the node's, so both nodes say so).
        let window = "ca:\n  agent_validity_days: 10\n  renew_before_days: 10\n"
        try await ApplianceProcess.with(extraConfiguration: window + PostgreSQLServeTests.storeYAML(cluster, database: database)) { app in
            let b = try app.startSecondNode(cluster, database: database, extra: window)
            defer {
                b.process.stop()
                ProcessReaper.terminate(commandLineContaining: b.state)
            }
            let hostname = "two-urls.example.org"
            let tokenFile = app.directory.file("two-urls.token")
            try #require(
                FileManager.default.createFile(
                    atPath: tokenFile, contents: Data((try app.requireToken(hostname: hostname) + "\n").utf8),
                    attributes: [.posixPermissions: 0o600]))
            let out = app.directory.file("agent-two-urls")
            let agent = try ProductBinary.tool("agent")
            let enrolled = try await agent.runAsync(
                [
                    "enroll", "--server", "https://127.0.0.1:\(app.https)", "--server", "https://127.0.0.1:\(b.https)",
                    "--pin", try app.intermediatePin(), "--hostname", hostname, "--out", out, "--token-file", tokenFile,
                ], timeout: 60)
            try #require(enrolled.succeeded, "agent enroll: \(enrolled.output)")
            let before = try PostgreSQLServeTests.serial(out + "/agent.crt")

            // Node A (the first URL) goes away: connection refused on its port.
            app.process.stop(signal: SIGKILL)
            let renewed = try await agent.runAsync(["renew", "--force", "--out", out], timeout: 120)
            #expect(renewed.succeeded, "agent renew with node A down: \(renewed.output)")
            let after = try PostgreSQLServeTests.serial(out + "/agent.crt")
            #expect(after != before)
            // Issued by the cluster (the shared database has it) and presented to node B over mTLS.
            #expect(try cluster.psql("SELECT status FROM certificates WHERE serial = '\(after)'", database: database) == "issued")
            let status = try await agent.runAsync(["status", "--out", out], timeout: 60)
            #expect(status.succeeded && status.stdout.lowercased().contains(after), "\(status.output)")

            // With every URL down the error names each one.
            b.process.stop(signal: SIGKILL)
            let none = try await agent.runAsync(["status", "--out", out], timeout: 60)
            #expect(!none.succeeded)
            #expect(none.output.contains("no appliance URL answered"), "\(none.output)")
        }
    }
}

/// Set once the standby has been promoted (read by the storm task).
final class PromotionFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
