import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing

/// The real `appliance` on PostgreSQL (docs/configuration.md#store): `store migrate` from a single
/// SQLite node, then two `serve` processes on one database — checked from outside with psql,
/// sqlite3, curl and openssl.
@Suite("appliance on PostgreSQL: store migrate and two nodes", .serialized)
struct PostgreSQLServeTests {
    static func storeYAML(_ cluster: PostgreSQLCluster, database: String, hosts: [String]? = nil) -> String {
        let list = (hosts ?? ["\(cluster.host):\(cluster.port)"]).map { "\"\($0)\"" }.joined(separator: ", ")
        return """
            store:
              kind: postgresql
              hosts: [\(list)]
              database: \(database)
              user: \(cluster.user)
            """
    }

    /// `serve` on `state` with the appliance's configuration file rewritten to `configuration`, healthy.
    static func serve(_ app: ApplianceProcess, state: String, config: String) throws -> ApplianceProcess.Started {
        try ApplianceProcess.launch(
            state: state, config: config, secret: ["--passphrase-file", app.directory.file("key.passphrase")],
            adminSocket: state + "/admin.sock")
    }

    /// The serial (lower-case hex) of a PEM certificate, read by openssl.
    static func serial(_ certificate: String) throws -> String { try opensslSerial(certificate) }

    /// `openssl ocsp` against node `http` for `certificate`: the status line.
    static func ocsp(_ app: ApplianceProcess, http: Int, certificate: String) throws -> String {
        let result = try ExternalTool("openssl").run([
            "ocsp", "-issuer", app.state.path("ca", "intermediate-ca.crt"), "-cert", certificate,
            "-url", "http://127.0.0.1:\(http)/ocsp", "-CAfile", app.chain, "-no_nonce",
        ])
        return result.output
    }

    @Test(
        "store migrate copies a serving node's SQLite store into PostgreSQL, verified, refuses a non-empty target, and the node carries on with an unbroken audit chain"
    )
    func migrateThenServe() async throws {
        let cluster = try PostgreSQLCluster.shared()
        let database = try cluster.createDatabase(prefix: "migrate")
        defer { cluster.dropDatabase(database) }
        try await ApplianceProcess.with { app in
            var certificates: [String] = []
            for n in 0..<3 {
                let name = "pg-migrate-\(n).example.org"
                let enrolled = try app.enrol(csrDER: try ApplianceProcess.agentCSR(hostname: name), token: try app.requireToken(hostname: name))
                #expect(enrolled.status == 200, "\(enrolled.body)")
                certificates.append(try #require(enrolled.certificate))
            }
            let revoked = try Self.serial(certificates[1])
            let revoke = try ProductBinary.tool("appliance").run([
                "certs", "revoke", revoked, "--reason", "keyCompromise", "--state-dir", app.stateRoot,
            ])
            #expect(revoke.succeeded, "\(revoke.output)")
            app.stop()

            let config = app.directory.file("appliance.yaml")
            let original = try String(contentsOfFile: config, encoding: .utf8)
            try (original + "\n" + Self.storeYAML(cluster, database: database) + "\n").write(toFile: config, atomically: true, encoding: .utf8)
            let migrate = try ProductBinary.tool("appliance").run(["store", "migrate", "--state-dir", app.stateRoot, "--config", config])
            #expect(migrate.succeeded, "\(migrate.output)")
            #expect(migrate.stdout.contains("certificate digest"), "\(migrate.output)")

            // Independent comparison: every certificate row (serial, status, DER) by sqlite3 and by psql.
            let fromSQLite = try app.sql("SELECT serial || '|' || status || '|' || lower(coalesce(hex(der), '')) FROM certificates ORDER BY serial")
            let fromPostgres = try cluster.psql(
                "SELECT serial || '|' || status || '|' || coalesce(encode(der, 'hex'), '') FROM certificates ORDER BY serial", database: database)
            #expect(fromPostgres == fromSQLite.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(try cluster.psql("SELECT count(*) FROM revocations WHERE serial = '\(revoked)' AND reason = 1", database: database) == "1")
            #expect(try cluster.psql("SELECT action FROM audit_events ORDER BY seq DESC LIMIT 1", database: database) == "store.migrated")

            // A second run finds the target full and changes nothing.
            let before = try cluster.psql("SELECT count(*) FROM audit_events", database: database)
            let again = try ProductBinary.tool("appliance").run(["store", "migrate", "--state-dir", app.stateRoot, "--config", config])
            #expect(!again.succeeded)
            #expect(again.output.contains("not empty"), "\(again.output)")
            #expect(try cluster.psql("SELECT count(*) FROM audit_events", database: database) == before)

            // The node serves from PostgreSQL: without its SQLite file, the revoked certificate is
            // still revoked (OCSP, checked by openssl), a new agent enrols, and the journal's chain
            // (`appliance audit verify`) continues unbroken through store.migrated.
            try FileManager.default.moveItem(atPath: app.database, toPath: app.database + ".pre-migration")
            if geteuid() == 0 { _ = try ExternalTool("chown").run(["-R", "nobody:", app.stateRoot]) }
            let node = try Self.serve(app, state: app.stateRoot, config: config)
            defer {
                node.process.stop()
                ProcessReaper.terminate(commandLineContaining: app.stateRoot)
            }
            let status = try Self.ocsp(app, http: node.http, certificate: certificates[1])
            #expect(status.contains(": revoked") && status.contains("Response verify OK"), "\(status)")
            #expect(try Self.ocsp(app, http: node.http, certificate: certificates[0]).contains(": good"))
            let token = try ProductBinary.tool("appliance").run([
                "agents", "token", "--hostname", "pg-after.example.org", "--state-dir", app.stateRoot,
            ])
            let tokenText = try #require(token.stdout.split(whereSeparator: \.isWhitespace).last.map(String.init), "\(token.output)")
            let after = try app.enrolOn(https: node.https, csrDER: try ApplianceProcess.agentCSR(hostname: "pg-after.example.org"), token: tokenText)
            #expect(after.status == 200, "\(after.body)")
            #expect(try cluster.psql("SELECT count(*) FROM certificates WHERE type = 'agent'", database: database) == "4")
            var verified = ExternalTool.Result?.none
            for _ in 0..<50 {
                verified = try ProductBinary.tool("appliance").run(["audit", "verify", "--state-dir", app.stateRoot])
                if verified?.succeeded == true, let events = Int(try cluster.psql("SELECT max(seq) FROM audit_events", database: database)),
                    verified?.stdout.contains("\(events) events") == true
                {
                    break
                }
                usleep(100_000)
            }
            #expect(verified?.succeeded == true, "\(verified?.output ?? "")")
        }
    }

    /// The intermediate CRL node `http` serves, as openssl prints it.
    static func crlText(_ app: ApplianceProcess, http: Int) throws -> String {
        let file = app.directory.file("crl-\(UUID().uuidString).crl")
        let fetched = try ExternalTool("curl").run(["-sS", "-f", "-o", file, "http://127.0.0.1:\(http)/crl/intermediate.crl"])
        guard fetched.succeeded else { return "fetch failed: \(fetched.output)" }
        let verified = try ExternalTool("openssl").run([
            "crl", "-inform", "DER", "-in", file, "-noout", "-text", "-CAfile", app.state.path("ca", "intermediate-ca.crt"),
        ])
        return verified.output
    }

    @Test(
        "two serve processes on one PostgreSQL database (B's host list starts with a dead host): A's token enrols on B, a token raced on both yields one certificate, a revocation on B is seen by A's OCSP within 1 s and both CRLs list it (openssl)"
    )
    func twoNodes() async throws {
        let cluster = try PostgreSQLCluster.shared()
        let database = try cluster.createDatabase(prefix: "twonodes")
        defer { cluster.dropDatabase(database) }
        try await ApplianceProcess.with(extraConfiguration: Self.storeYAML(cluster, database: database)) { app in
            #expect(!FileManager.default.fileExists(atPath: app.database), "a PostgreSQL node keeps no SQLite store")
            // Node B: a copy of A's state directory without db/, its own configuration and
            // listeners; its host list starts with a host where nothing listens: tried first, skipped.
            let dead = try PostgreSQLCluster.freePort()
            // B's copy also lacks audit/: `serve` creates it (0700) and writes the journal from the store.
            let b = try app.startSecondNode(
                cluster, database: database, hosts: ["127.0.0.1:\(dead)", "\(cluster.host):\(cluster.port)"], withoutAuditDirectory: true)
            let stateB = b.state
            defer {
                b.process.stop()
                ProcessReaper.terminate(commandLineContaining: stateB)
            }

            // A's token, B's enrolment.
            let token = try app.requireToken(hostname: "two-nodes.example.org")
            let enrolled = try app.enrolOn(https: b.https, csrDER: try ApplianceProcess.agentCSR(hostname: "two-nodes.example.org"), token: token)
            #expect(enrolled.status == 200, "\(enrolled.body)")
            let certificate = try #require(enrolled.certificate)
            let serial = try Self.serial(certificate)
            #expect(try Self.ocsp(app, http: app.http, certificate: certificate).contains(": good"))

            // One token presented on both nodes at the same moment: exactly one certificate.
            let raced = try app.requireToken(hostname: nil)
            let results = try await withThrowingTaskGroup(of: Int.self) { group in
                for (n, port) in [app.https, b.https, app.https, b.https].enumerated() {
                    group.addTask {
                        try app.enrolOn(https: port, csrDER: try ApplianceProcess.agentCSR(hostname: "race-\(n).example.org"), token: raced).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(results.filter { $0 == 200 }.count == 1, "statuses \(results)")

            // Revoked on B: A's OCSP answers revoked within a second, both CRLs list it.
            let revoke = try ProductBinary.tool("appliance").run(["certs", "revoke", serial, "--reason", "keyCompromise", "--state-dir", stateB])
            #expect(revoke.succeeded, "\(revoke.output)")
            let start = Date()
            var seenOnA = ""
            while Date().timeIntervalSince(start) < 5 {
                seenOnA = try Self.ocsp(app, http: app.http, certificate: certificate)
                if seenOnA.contains(": revoked") { break }
                usleep(50_000)
            }
            #expect(seenOnA.contains(": revoked") && seenOnA.contains("Response verify OK"), "\(seenOnA)")
            #expect(Date().timeIntervalSince(start) < 1.5, "A saw B's revocation after \(Date().timeIntervalSince(start)) s")
            #expect(try Self.ocsp(app, http: b.http, certificate: certificate).contains(": revoked"))
            let wanted = serial.uppercased()
            var crls: [String] = []
            for _ in 0..<100 {
                crls = [try Self.crlText(app, http: app.http), try Self.crlText(app, http: b.http)]
                if crls.allSatisfy({ $0.contains("verify OK") && $0.uppercased().contains(wanted) }) { break }
                usleep(100_000)
            }
            for crl in crls { #expect(crl.contains("verify OK") && crl.uppercased().contains(wanted), "\(crl)") }
            // `appliance backup` refuses a PostgreSQL node instead of archiving a stale or missing SQLite store.
            let backupKey = app.directory.file("backup.passphrase")
            try #require(
                FileManager.default.createFile(
                    atPath: backupKey, contents: Data("correct horse battery staple\n".utf8), attributes: [.posixPermissions: 0o600]))
            let backup = try ProductBinary.tool("appliance").run([
                "backup", "create", "--state-dir", app.stateRoot, "--config", app.directory.file("appliance.yaml"),
                "--out", app.directory.file("node-a.rkbackup"), "--passphrase-file", backupKey,
            ])
            #expect(
                !backup.succeeded && backup.output.contains("records live in PostgreSQL") && backup.output.contains("pg_dump"), "\(backup.output)")
            #expect(!FileManager.default.fileExists(atPath: app.directory.file("node-a.rkbackup")))
            // One audit chain across both nodes, recorded by A's journal.
            #expect(try cluster.psql("SELECT count(*) FROM audit_events WHERE action LIKE '%revoke%'", database: database) != "0")
            // B recreated its journal directory and exported the whole shared chain into it.
            #expect((try FileManager.default.attributesOfItem(atPath: stateB + "/audit")[.posixPermissions] as? Int) == 0o700)
            let events = try cluster.psql("SELECT max(seq) FROM audit_events", database: database)
            var journalOfB = ""
            for _ in 0..<100 {
                journalOfB = (try? String(contentsOfFile: stateB + "/audit/audit.jsonl", encoding: .utf8)) ?? ""
                if journalOfB.contains("\"seq\":\(events)") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let seqs = journalOfB.split(separator: "\n").compactMap { $0.firstMatch(of: /"seq":(\d+)/).map { String($0.1) } }
            #expect(seqs.first == "1" && seqs.last == events, "B's journal: \(journalOfB.suffix(300))")
            let verifiedB = try ProductBinary.tool("appliance").run(["audit", "verify", "--state-dir", stateB])
            #expect(verifiedB.succeeded, "\(verifiedB.output)")
            #expect(!b.process.output.contains("cannot append to the audit journal"), "\(b.process.output.suffix(2000))")
        }
    }
}

extension ApplianceProcess {
    /// ``enrol(csrDER:token:interface:name:)`` against another node's HTTPS port.
    func enrolOn(https port: Int, csrDER: [UInt8], token: String?) throws -> (status: Int, body: String, certificate: String?) {
        try enrol(csrDER: csrDER, token: token, https: port)
    }
}
