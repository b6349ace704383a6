import Foundation
import TestSupport
import Testing

/// Issue 18: list commands take `--format json` (docs/commands.md#output-for-scripts) — named
/// fields, not the summary text — read here with python3's `json`, against the real `serve`.
@Suite("appliance agents list, certs list, audit: --format json", .serialized)
struct AdminJSONOutputTests {
    /// Runs python3 `script` with the JSON on stdin; returns its stdout lines.
    static func python(_ script: String, json: String) throws -> [String] {
        let result = try ExternalTool("python3").run(["-c", "import json,sys\nd=json.load(sys.stdin)\n" + script], stdin: Data(json.utf8))
        #expect(result.succeeded, "python3 could not read the JSON: \(result.stderr)\n\(json)")
        return result.stdout.split(separator: "\n").map(String.init)
    }

    static func appliance(_ app: ApplianceProcess, _ arguments: [String]) async throws -> ExternalTool.Result {
        let result = try await ProductBinary.tool("appliance").runAsync(arguments + ["--state-dir", app.stateRoot])
        #expect(result.succeeded, "appliance \(arguments.joined(separator: " ")): \(result.output)")
        return result
    }

    @Test("agents list, certs list, certs expiring, audit list and audit verify print JSON with named fields")
    func listsAsJSON() async throws {
        try await ApplianceProcess.with { app in
            let token = try app.requireToken(hostname: "json-01")
            let issued = try app.enrol(csrDER: try ApplianceProcess.agentCSR(hostname: "json-01"), token: token)
            try #require(issued.status == 200, "\(issued.body)")
            let pending = try app.enrol(csrDER: try ApplianceProcess.agentCSR(hostname: "json-02"), token: nil)
            try #require(pending.status == 202, "\(pending.body)")

            let agents = try await Self.appliance(app, ["agents", "list", "--format", "json"])
            let agentRows = try Self.python(
                """
                for e in sorted(d, key=lambda e: e['hostname']): print(e['id'], e['kind'], e['status'], e['hostname'], e['agentID'], e['created'])
                """, json: agents.stdout)
            try #require(agentRows.count == 2, "\(agents.stdout)")
            let active = agentRows[0].split(separator: " ").map(String.init)
            #expect(active[1] == "agent" && active[2] == "active" && active[3] == "json-01" && active[0] == active[4])
            #expect(ISO8601DateFormatter().date(from: active[5]) != nil)
            let open = agentRows[1].split(separator: " ").map(String.init)
            #expect(open[1] == "registration" && open[2] == "pending" && open[3] == "json-02")
            #expect(!agents.stdout.contains("summary"), "named fields, not the text summary")
            // The text form is unchanged: one line per entry starting with its ID.
            let text = try await Self.appliance(app, ["agents", "list"])
            #expect(text.stdout.split(separator: "\n").count == 2)
            #expect(text.stdout.split(separator: "\n").contains { $0.hasPrefix(active[0] + " active json-01") })

            let certificates = try await Self.appliance(app, ["certs", "list", "--format", "json"])
            let agentCertificates = try Self.python(
                """
                for e in d:
                    if e['type'] == 'agent': print(e['id'] == e['serial'], e['status'], e['agentID'], e['notAfter'])
                """, json: certificates.stdout)
            try #require(agentCertificates.count == 1, "\(certificates.stdout)")
            let fields = agentCertificates[0].split(separator: " ").map(String.init)
            #expect(fields[0] == "True" && fields[1] == "issued" && fields[2] == active[0])
            #expect(ISO8601DateFormatter().date(from: fields[3]) != nil)
            let expiring = try await Self.appliance(app, ["certs", "expiring", "--days", "3650", "--format", "json"])
            #expect(try Self.python("print(len(d))", json: expiring.stdout) != ["0"], "\(expiring.stdout)")

            // The journal is exported about once a second: wait (bounded) for the list above.
            var audit = try await Self.appliance(app, ["audit", "list", "--format", "json"])
            for _ in 0..<50 where !audit.stdout.contains("admin.certs.list") {
                try await Task.sleep(for: .milliseconds(200))
                audit = try await Self.appliance(app, ["audit", "list", "--format", "json"])
            }
            let events = try Self.python(
                """
                seqs = [e['seq'] for e in d]
                print(seqs == list(range(1, len(d) + 1)), all(len(e['hash']) == 64 and isinstance(e['details'], dict) for e in d))
                print(' '.join(e['action'] for e in d))
                """, json: audit.stdout)
            try #require(events.count == 2, "\(audit.stdout)")
            #expect(events[0] == "True True")
            #expect(events[1].contains("admin.agents.list") && events[1].contains("admin.certs.list"))
            let last = try await Self.appliance(app, ["audit", "list", "--last", "1", "--format", "json"])
            #expect(try Self.python("print(len(d))", json: last.stdout) == ["1"])

            let verify = try await Self.appliance(app, ["audit", "verify", "--format", "json"])
            let verdict = try Self.python("print(d['intact'], d['events'] > 0, len(d['head']))", json: verify.stdout)
            #expect(verdict == ["True True 64"], "\(verify.stdout)")
        }
    }
}
