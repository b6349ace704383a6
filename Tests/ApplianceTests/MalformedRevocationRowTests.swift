import Foundation
import TestSupport
import Testing

/// A revocation row whose serial is not hex (written by hand, or by a damaged restore) must never
/// vanish from the CRL quietly — a CRL without it would tell relying parties the certificate is
/// good. The real `serve` on its SQLite store, the row written with sqlite3, everything checked
/// from outside: `appliance crl generate`, `/health` and `/metrics` with curl, the served CRL with
/// openssl. Threat model T11.
@Suite("A malformed serial in a revocation row fails CRL generation loudly", .serialized)
struct MalformedRevocationRowTests {
    static func curl(_ url: String) throws -> (status: Int, body: String) {
        let result = try ExternalTool("curl").run(["-sS", "--max-time", "10", "-w", "\n%{http_code}", url])
        var lines = result.stdout.components(separatedBy: "\n")
        let status = Int(lines.removeLast()) ?? 0
        return (status, lines.joined(separator: "\n"))
    }

    /// The value of the first `/metrics` sample whose line starts with `prefix`.
    static func metric(_ http: Int, _ prefix: String) throws -> Double? {
        try curl("http://127.0.0.1:\(http)/metrics").body.split(separator: "\n").first { $0.hasPrefix(prefix) }
            .flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test(
        "a revocation row with the serial 'not-a-serial': crl generate fails naming it, /health answers 503 with the reason, the failure is counted, the last good CRL stays served; the revocation made meanwhile is published once the row is repaired"
    )
    func malformedSerialFailsLoudly() async throws {
        try await ApplianceProcess.with { app in
            let name = "malformed-row.example.org"
            let enrolled = try app.enrol(csrDER: try ApplianceProcess.agentCSR(hostname: name), token: try app.requireToken(hostname: name))
            let certificate = try #require(enrolled.certificate, "\(enrolled.body)")
            let serial = try PostgreSQLServeTests.serial(certificate)
            let appliance = try ProductBinary.tool("appliance")
            let generated = try appliance.run(["crl", "generate", "--state-dir", app.stateRoot])
            #expect(generated.succeeded, "\(generated.output)")
            let before = try #require(try PostgreSQLCRLLeadershipTests.fetch(app, http: app.http), "no CRL served")

            // The damaged row, as a hand edit would write it (sqlite3 does not enforce the foreign key).
            let insert = try ExternalTool("sqlite3").run([
                app.database,
                """
                INSERT INTO revocations (serial, issuer_ski, revoked_at, reason, invalidity_date, seq)
                SELECT 'not-a-serial', issuer_ski, CAST(strftime('%s','now') AS REAL), 1, NULL, (SELECT coalesce(max(seq), 0) + 1 FROM revocations)
                FROM certificates WHERE serial = '\(serial)'
                """,
            ])
            try #require(insert.succeeded, "\(insert.output)")
            #expect(
                try app.sql("SELECT count(*) FROM revocations WHERE serial = 'not-a-serial'").trimmingCharacters(in: .whitespacesAndNewlines) == "1")

            let refused = try appliance.run(["crl", "generate", "--state-dir", app.stateRoot])
            #expect(!refused.succeeded, "crl generate published a CRL without the malformed row: \(refused.output)")
            #expect(refused.output.contains("malformed serial 'not-a-serial'"), "\(refused.output)")
            let health = try Self.curl("http://127.0.0.1:\(app.http)/health")
            #expect(health.status == 503, "\(health)")
            #expect(health.body.contains("malformed serial 'not-a-serial'"), "\(health.body)")
            #expect(try Self.metric(app.http, "rootkeeper_crl_publication_failing{") == 1)
            #expect((try Self.metric(app.http, "rootkeeper_crl_publish_failures_total{") ?? 0) >= 1)
            let during = try #require(try PostgreSQLCRLLeadershipTests.fetch(app, http: app.http))
            #expect(during.der == before.der, "the served CRL changed although no CRL could be generated")

            // A real revocation meanwhile is stored (OCSP would answer revoked) and waits for the CRL.
            let revoke = try appliance.run(["certs", "revoke", serial, "--reason", "keyCompromise", "--state-dir", app.stateRoot])
            #expect(revoke.succeeded, "\(revoke.output)")
            #expect(try Self.curl("http://127.0.0.1:\(app.http)/health").status == 503)

            // Repaired: the next generation lists the real revocation, health and gauge recover.
            let delete = try ExternalTool("sqlite3").run([app.database, "DELETE FROM revocations WHERE serial = 'not-a-serial'"])
            try #require(delete.succeeded, "\(delete.output)")
            let again = try appliance.run(["crl", "generate", "--state-dir", app.stateRoot])
            #expect(again.succeeded, "\(again.output)")
            let after = try #require(try PostgreSQLCRLLeadershipTests.fetch(app, http: app.http))
            #expect(after.number > before.number)
            #expect(after.text.uppercased().contains(serial.uppercased()), "the revocation made while generation failed is missing")
            #expect(try Self.curl("http://127.0.0.1:\(app.http)/health").status == 200)
            #expect(try Self.metric(app.http, "rootkeeper_crl_publication_failing{") == 0)
        }
    }
}
