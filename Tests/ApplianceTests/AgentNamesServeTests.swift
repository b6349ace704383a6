import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing

/// Issue #11 against the real `appliance serve`, seen from outside (curl, openssl, pkilint,
/// sqlite3, `appliance agents …`): the appliance's own names, one name whatever its case,
/// squatting, and RFC 5280 upper bounds for every valid host name length.
@Suite("Agent names against the real appliance", .serialized)
struct AgentNamesServeTests {
    @Test("attack: the appliance's own names (localhost, 127.0.0.1, server.dns_names) are refused by token binding, with a token and tokenless")
    func ownNamesRefused() async throws {
        try await ApplianceProcess.with(extraConfiguration: "server:\n  fqdn: localhost\n  dns_names: est.example.test\n  ip_addresses: 127.0.0.1") {
            app in
            for name in ["localhost", "LOCALHOST", "EST.example.test"] {
                let bound = try app.token(hostname: name)
                #expect(!bound.succeeded, "agents token --hostname \(name) must be refused")
                #expect(bound.stderr.contains("hostname \(NameSyntax.asciiLowercased(name)) is one of this appliance's own names"), "\(bound.output)")
            }
            let unbound = try app.requireToken(hostname: nil)
            for name in ["localhost", "LocalHost", "est.example.test"] {
                let withToken = try app.enrol(csrDER: try ApplianceProcess.agentCSR(hostname: name), token: unbound)
                #expect(withToken.status == 403, "\(name) with a token: \(withToken.status) \(withToken.body)")
                #expect(withToken.body.contains("is one of this appliance's own names"), "\(withToken.body)")
                let tokenless = try app.enrol(csrDER: try ApplianceProcess.agentCSR(hostname: name), token: nil)
                #expect(tokenless.status == 403, "\(name) tokenless: \(tokenless.status) \(tokenless.body)")
                #expect(tokenless.body.contains("is one of this appliance's own names"), "\(tokenless.body)")
            }
            // The real agent, tokenless: `agent enroll --hostname localhost` is refused with the reason.
            let agent = try ProductBinary.tool("agent").run([
                "enroll", "--server", "https://127.0.0.1:\(app.https)", "--pin", try app.intermediatePin(),
                "--hostname", "localhost", "--out", app.directory.file("agent-localhost"), "--max-wait", "5",
            ])
            #expect(!agent.succeeded, "\(agent.output)")
            #expect(agent.output.contains("hostname localhost is one of this appliance's own names"), "\(agent.output)")
            // An IP address is never a host name (RFC 1123 §2.1), whoever asks.
            let ip = try app.token(hostname: "127.0.0.1")
            #expect(!ip.succeeded && ip.stderr.contains("is not a valid host name"), "\(ip.output)")
            // Nothing was registered or issued, and the unbound token is still unused.
            #expect(try app.sql("SELECT count(*) FROM agents; SELECT count(*) FROM registrations;") == "0\n0\n")
            #expect(try app.sql("SELECT count(*) FROM enrollment_tokens WHERE consumed_at IS NULL") == "1\n")
        }
    }

    @Test("attack: DB3.example.org after db3.example.org is refused (token and tokenless); one active agent holds the name")
    func mixedCaseAttack() async throws {
        try await ApplianceProcess.with { app in
            let first = try app.enrol(
                csrDER: try ApplianceProcess.agentCSR(hostname: "db3.example.org"),
                token: try app.requireToken(hostname: "db3.example.org"))
            #expect(first.status == 200, "\(first.body)")
            let attacker = try ApplianceProcess.agentCSR(hostname: "DB3.example.org")
            let withToken = try app.enrol(csrDER: attacker, token: try app.requireToken(hostname: nil))
            #expect(withToken.status == 403 && withToken.body.contains("hostname db3.example.org belongs to active agent"), "\(withToken.body)")
            let bound = try app.requireToken(hostname: "DB3.EXAMPLE.ORG")
            let withBound = try app.enrol(csrDER: attacker, token: bound)
            #expect(withBound.status == 403 && withBound.body.contains("belongs to active agent"), "\(withBound.body)")
            let tokenless = try app.enrol(csrDER: attacker, token: nil)
            #expect(tokenless.status == 403 && tokenless.body.contains("belongs to active agent"), "\(tokenless.body)")
            #expect(try app.sql("SELECT hostname, status FROM agents") == "db3.example.org|active\n")
            #expect(
                try app.sql("SELECT hostname FROM enrollment_tokens WHERE hostname IS NOT NULL ORDER BY created_at")
                    == "db3.example.org\ndb3.example.org\n")
            // The issued certificate names the canonical host in CN and SAN.
            let printed = try ExternalTool("openssl").run([
                "x509", "-in", try #require(first.certificate), "-noout", "-subject", "-ext", "subjectAltName",
            ])
            #expect(printed.stdout.contains("CN = db3.example.org") && printed.stdout.contains("DNS:db3.example.org"), "\(printed.output)")
        }
    }

    @Test("a database from an earlier release with DB3.example.org and db3.example.org both active stops serve at start, naming both rows")
    func collidingDatabaseRefused() async throws {
        try await ApplianceProcess.with { app in
            // Put the database back to the earlier schema (v2 indexes, no v3 migration) holding
            // two active agents for one name in two cases, as an earlier release allowed.
            app.stop()
            let edit = try ExternalTool("sqlite3").run([
                app.database,
                """
                DROP INDEX agents_active_hostname;
                DROP INDEX registrations_pending_source;
                DROP INDEX registrations_open_hostname;
                CREATE UNIQUE INDEX registrations_open_hostname ON registrations(hostname)
                    WHERE status = 'pending' OR (status = 'approved' AND issued_serial IS NULL);
                DELETE FROM grdb_migrations WHERE identifier = 'v3-hostnames-case-insensitive';
                INSERT INTO agents VALUES ('00000000-0000-4000-8000-00000000000a', 'DB3.example.org', 'active', 1, NULL);
                INSERT INTO agents VALUES ('00000000-0000-4000-8000-00000000000b', 'db3.example.org', 'active', 2, NULL);
                """,
            ])
            try #require(edit.succeeded, "\(edit.output)")
            let second = try app.restartUnwatched()
            defer { second.stop() }
            for _ in 0..<150 where second.isRunning { usleep(200_000) }
            #expect(!second.isRunning, "serve must refuse to start:\n\(second.output)")
            #expect(second.exitStatus != 0)
            #expect(
                second.output.contains(
                    "active agents for db3.example.org: 00000000-0000-4000-8000-00000000000a (DB3.example.org), 00000000-0000-4000-8000-00000000000b (db3.example.org)"
                ),
                "\(second.output)")
            #expect(second.output.contains("appliance agents revoke"), "\(second.output)")
            // Nothing was changed: the rows keep their spelling for the administrator to decide.
            #expect(try app.sql("SELECT hostname FROM agents ORDER BY id") == "DB3.example.org\ndb3.example.org\n")
        }
    }

    @Test("attack: a tokenless squatter loses to a hostname-bound token (rejected, audited), and one source holds at most max_pending_per_source")
    func squatting() async throws {
        try await ApplianceProcess.with(extraConfiguration: "enrollment:\n  max_pending_per_source: 2") { app in
            let squatterCSR = try ApplianceProcess.agentCSR(hostname: "web9.example.org")
            let squat = try app.enrol(csrDER: squatterCSR, token: nil)
            #expect(squat.status == 202, "\(squat.status) \(squat.body)")
            let owner = try app.enrol(
                csrDER: try ApplianceProcess.agentCSR(hostname: "web9.example.org"),
                token: try app.requireToken(hostname: "WEB9.example.org"))
            #expect(owner.status == 200, "the token holder must win: \(owner.status) \(owner.body)")
            let poll = try app.enrol(csrDER: squatterCSR, token: nil)
            #expect(poll.status == 403, "\(poll.status) \(poll.body)")
            #expect(
                poll.body.contains("was rejected by the appliance: superseded: an enrolment token bound to web9.example.org was presented"),
                "\(poll.body)")
            let audit = try app.sql("SELECT actor, action FROM audit_events WHERE action = 'registration.rejected'")
            #expect(audit == "appliance|registration.rejected\n", "\(audit)")

            // Per source: the squatter's registration is closed, so two more fit, the third does not.
            for n in 1...2 {
                let pending = try app.enrol(csrDER: try ApplianceProcess.agentCSR(hostname: "batch\(n).example.org"), token: nil)
                #expect(pending.status == 202, "\(pending.status) \(pending.body)")
            }
            let third = try app.enrol(csrDER: try ApplianceProcess.agentCSR(hostname: "batch3.example.org"), token: nil)
            #expect(third.status == 403, "\(third.status) \(third.body)")
            #expect(third.body.contains("too many pending registrations from 127.0.0.1 (limit 2)"), "\(third.body)")
            // Another source address (127.0.0.2 reaches the 127.0.0.1 listener over lo) still registers.
            let elsewhere = try app.enrol(csrDER: try ApplianceProcess.agentCSR(hostname: "batch3.example.org"), token: nil, interface: "127.0.0.2")
            #expect(elsewhere.status == 202, "\(elsewhere.status) \(elsewhere.body)")
            // A token enrolment is never counted.
            let tokened = try app.enrol(
                csrDER: try ApplianceProcess.agentCSR(hostname: "batch4.example.org"), token: try app.requireToken(hostname: nil))
            #expect(tokened.status == 200, "\(tokened.body)")
        }
    }

    /// pkilint findings that are its own false positives, by code: it does not know the `urn`
    /// URI scheme (RFC 8141), and it wants at least two labels in a dNSName.
    static let pkilintFalsePositives = ["pkix.invalid_uri_syntax"]
    static let pkilintSingleLabelFalsePositive = "pkix.invalid_domain_name_syntax"

    static var pkilint: String {
        // Tests/ApplianceTests/<file> → repository root.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".tools/venv/bin/lint_pkix_cert").path
    }

    @Test("hostnames of 1, 21, 22, 63, 200 and 253 characters get certificates pkilint and openssl -x509_strict accept")
    func upperBounds() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.pkilint), "pkilint missing at \(Self.pkilint): run scripts/install-deps.sh")
        try await ApplianceProcess.with { app in
            for length in [1, 21, 22, 63, 200, 253] {
                let hostname = TestHostname.ldh(length: length)
                let issued = try app.enrol(
                    csrDER: try ApplianceProcess.agentCSR(hostname: hostname), token: try app.requireToken(hostname: hostname),
                    name: "len\(length)")
                let certificate = try #require(issued.certificate, "length \(length): \(issued.status) \(issued.body)")
                let lint = try ExternalTool(Self.pkilint).run(["lint", "-s", "ERROR", "-f", "JSON", certificate])
                let report = try JSONSerialization.jsonObject(with: Data(lint.stdout.utf8)) as? [String: Any]
                let results = try #require(report?["results"] as? [[String: Any]], "length \(length): \(lint.output)")
                var allowed = Self.pkilintFalsePositives
                if !hostname.contains(".") { allowed.append(Self.pkilintSingleLabelFalsePositive) }
                for result in results {
                    for finding in result["finding_descriptions"] as? [[String: Any]] ?? [] {
                        let code = finding["code"] as? String ?? "?"
                        #expect(
                            allowed.contains(code),
                            "length \(length): pkilint \(finding["severity"] ?? "?") \(code) at \(result["node_path"] ?? "?"): \(finding["message"] ?? "")"
                        )
                    }
                }
                let strict = try ExternalTool("openssl").run([
                    "verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", app.state.path("ca", "root-ca.crt"),
                    "-untrusted", app.state.path("ca", "intermediate-ca.crt"), certificate,
                ])
                #expect(strict.succeeded, "length \(length): \(strict.output)")
                let subject = try ExternalTool("openssl").run(["x509", "-in", certificate, "-noout", "-subject", "-nameopt", "RFC2253"]).stdout
                #expect(subject.contains("CN=\(hostname)") == (length <= 64), "length \(length): \(subject)")
            }
        }
    }
}
