import Foundation
import TestSupport
import Testing

/// Issue 18, "agents a fleet can deploy": the real `agent` against the real `appliance serve`.
/// The agent renews when the appliance's window (`ca.renew_before_days`) is open — the `renewNow`
/// of `agent status` — not 30 days before expiry of its own reckoning, and runs its hooks after
/// a successful renewal only.
@Suite("The agent renews in the appliance's window and runs its hook after a renewal", .serialized)
struct AgentRenewalWindowTests {
    /// An agent enrolled with the real `agent enroll` and a one-time token; its directory.
    static func enrolledAgent(_ app: ApplianceProcess, hostname: String) async throws -> String {
        let tokenFile = app.directory.file("\(hostname).token")
        try #require(
            FileManager.default.createFile(
                atPath: tokenFile, contents: Data((try app.requireToken(hostname: hostname) + "\n").utf8), attributes: [.posixPermissions: 0o600]))
        let out = app.directory.file("agent-\(hostname)")
        let enrolled = try await ProductBinary.tool("agent").runAsync(
            [
                "enroll", "--server", "https://127.0.0.1:\(app.https)", "--pin", try app.intermediatePin(), "--hostname", hostname,
                "--out", out, "--token-file", tokenFile,
            ], timeout: 60)
        try #require(enrolled.succeeded, "agent enroll: \(enrolled.output)")
        return out
    }

    static func agent(_ arguments: [String]) async throws -> ExternalTool.Result {
        try await ProductBinary.tool("agent").runAsync(arguments, timeout: 120)
    }

    /// `agent status` parsed with python3's `json` (an independent reader): renewNow and renewFrom.
    static func status(_ out: String) async throws -> (renewNow: Bool, renewFrom: String, serial: String) {
        let status = try await agent(["status", "--out", out])
        try #require(status.succeeded, "agent status: \(status.output)")
        let parsed = try ExternalTool("python3").run(
            ["-c", "import json,sys; d=json.load(sys.stdin); print(d['renewNow'], d.get('renewFrom', '-'), d['serialNumber'])"],
            stdin: Data(status.stdout.utf8))
        let words = parsed.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        try #require(parsed.succeeded && words.count == 3, "status is not JSON: \(status.stdout) \(parsed.output)")
        return (words[0] == "True", words[1], words[2])
    }

    static func certificateCount(_ app: ApplianceProcess, hostname: String) throws -> String {
        try app.sql("SELECT COUNT(*) FROM certificates c JOIN agents a ON a.id = c.agent_id WHERE a.hostname = '\(hostname)'")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(
        "a 10-day certificate with ca.renew_before_days 3: status says not yet, renew agrees and names when the window opens; a forced renewal the appliance refuses runs no hook"
    )
    func windowNotOpen() async throws {
        try await ApplianceProcess.with(
            extraConfiguration: """
                ca:
                  agent_validity_days: 10
                  renew_before_days: 3
                """
        ) { app in
            let out = try await Self.enrolledAgent(app, hostname: "window-01")
            let before = try opensslSerial("\(out)/agent.crt")
            let status = try await Self.status(out)
            #expect(!status.renewNow)
            // renewFrom = notAfter − 3 days, as the appliance computes it.
            let notAfter = try ExternalTool("openssl").run(["x509", "-in", "\(out)/agent.crt", "-noout", "-enddate"]).stdout
            let expiry = try #require(
                DateFormatter.openssl.date(from: notAfter.dropFirst("notAfter=".count).split(whereSeparator: \.isWhitespace).joined(separator: " ")))
            let renewFrom = try #require(ISO8601DateFormatter().date(from: status.renewFrom), "renewFrom: \(status.renewFrom)")
            #expect(abs(expiry.timeIntervalSince(renewFrom) - 3 * 86_400) < 2)

            // The old agent renewed anything under 30 days from expiry, i.e. this one at every run.
            let renew = try await Self.agent(["renew", "--out", out])
            #expect(renew.succeeded, "\(renew.output)")
            #expect(renew.stdout.contains("not due"), "\(renew.output)")
            #expect(renew.stdout.contains("ca.renew_before_days") && renew.stdout.contains(status.renewFrom), "\(renew.output)")
            #expect(try opensslSerial("\(out)/agent.crt") == before)
            #expect(try Self.certificateCount(app, hostname: "window-01") == "1")

            // A failed renewal (the appliance refuses one outside the window) never runs the hook.
            let marker = app.directory.file("hook-ran")
            let forced = try await Self.agent(["renew", "--out", out, "--force", "--exec", "touch '\(marker)'"])
            #expect(!forced.succeeded)
            #expect(forced.stderr.contains("refused the renewal"), "\(forced.output)")
            #expect(!FileManager.default.fileExists(atPath: marker), "the hook ran after a failed renewal")
            #expect(try opensslSerial("\(out)/agent.crt") == before)
        }
    }

    @Test(
        "inside the window (renew_before_days = validity): status says renewNow, renew renews, and the --exec hook gets the new pair's paths in its environment"
    )
    func windowOpenRenewsAndRunsHook() async throws {
        try await ApplianceProcess.with(
            extraConfiguration: """
                ca:
                  agent_validity_days: 2
                  renew_before_days: 2
                """
        ) { app in
            let out = try await Self.enrolledAgent(app, hostname: "window-02")
            let before = try opensslSerial("\(out)/agent.crt")
            #expect(try await Self.status(out).renewNow)
            let report = app.directory.file("hook.env")
            // The hook reads what it needs from its environment; nothing is interpolated into it.
            let hook =
                "printf '%s\\n' \"$AGENT_SERIAL\" \"$AGENT_CERTIFICATE\" \"$AGENT_KEY\" \"$AGENT_CA_CHAIN\" \"$AGENT_HOSTNAME\" \"$AGENT_NOT_AFTER\" > '\(report)'"
            let renew = try await Self.agent(["renew", "--out", out, "--exec", hook])
            #expect(renew.succeeded, "\(renew.output)")
            #expect(renew.stdout.contains("renewed: serial"))
            let after = try opensslSerial("\(out)/agent.crt")
            #expect(after != before)
            #expect(try opensslPairMatches(key: "\(out)/agent.key", certificate: "\(out)/agent.crt"))
            let lines = try String(contentsOfFile: report, encoding: .utf8).split(separator: "\n").map(String.init)
            try #require(lines.count == 6, "hook output: \(lines)")
            #expect(RenewalRetryTests.same(lines[0], after), "AGENT_SERIAL \(lines[0]) is not the new certificate's \(after)")
            #expect(lines[1] == "\(out)/agent.crt" && lines[2] == "\(out)/agent.key" && lines[3] == "\(out)/ca-chain.crt")
            #expect(lines[4] == "window-02")
            #expect(ISO8601DateFormatter().date(from: lines[5]) != nil)

            // Such a window makes every agent renew at every check: doctor says so.
            let doctor = try await ProductBinary.tool("appliance").runAsync(
                [
                    "doctor", "--state-dir", app.stateRoot, "--config", app.directory.file("appliance.yaml"),
                    "--passphrase-file", app.directory.file("key.passphrase"),
                ], timeout: 120)
            #expect(
                doctor.stdout.contains("WARNING renewal window: ca.renew_before_days (2) is not below ca.agent_validity_days (2)"),
                "\(doctor.output)")
        }
    }

    @Test(
        "a failing hook is reported with its exit status and the renewed certificate stays installed; --reload-unit refuses a name that is not a unit"
    )
    func failingHookKeepsCertificate() async throws {
        try await ApplianceProcess.with(
            extraConfiguration: """
                ca:
                  agent_validity_days: 2
                  renew_before_days: 2
                """
        ) { app in
            let out = try await Self.enrolledAgent(app, hostname: "window-03")
            let before = try opensslSerial("\(out)/agent.crt")
            let renew = try await Self.agent(["renew", "--out", out, "--exec", "exit 3"])
            #expect(renew.status == 1)
            #expect(renew.stderr.contains("the renewal hook --exec exit 3 exited with status 3"), "\(renew.output)")
            #expect(renew.stderr.contains("the renewed certificate stays installed"), "\(renew.output)")
            #expect(!renew.stderr.contains("hookFailed"), "\(renew.output)")
            let after = try opensslSerial("\(out)/agent.crt")
            #expect(after != before)
            #expect(try opensslPairMatches(key: "\(out)/agent.key", certificate: "\(out)/agent.crt"))
            // Proven over mTLS before the hook ran: nothing of the previous pair is left.
            #expect(!FileManager.default.fileExists(atPath: "\(out)/previous"))

            // --reload-unit runs the real systemctl; with no systemd running here (a container) it
            // fails, and that failure is reported like any hook's, the renewal kept.
            let reload = try await Self.agent(["renew", "--out", out, "--reload-unit", "nginx.service"])
            #expect(reload.status == 1, "\(reload.output)")
            #expect(reload.stderr.contains("the renewal hook --reload-unit nginx.service exited with status"), "\(reload.output)")
            let reloaded = try opensslSerial("\(out)/agent.crt")
            #expect(reloaded != after)
            #expect(try opensslPairMatches(key: "\(out)/agent.key", certificate: "\(out)/agent.crt"))

            let injected = try await Self.agent(["renew", "--out", out, "--reload-unit", "nginx.service; touch /tmp/x"])
            #expect(injected.status == 64, "\(injected.output)")
            #expect(injected.stderr.contains("is not a systemd unit name"), "\(injected.output)")
            #expect(try opensslSerial("\(out)/agent.crt") == reloaded, "a refused command line renews nothing")
        }
    }

    @Test("the daemon runs a failed hook again at its next round until it succeeds; the renewed certificate stays installed meanwhile")
    func daemonRetriesFailedHook() async throws {
        try await ApplianceProcess.with(
            extraConfiguration: """
                ca:
                  agent_validity_days: 2
                  renew_before_days: 2
                """
        ) { app in
            let out = try await Self.enrolledAgent(app, hostname: "window-04")
            let before = try opensslSerial("\(out)/agent.crt")
            let marker = app.directory.file("hook-failed-once")
            let report = app.directory.file("hook-serial")
            // Fails the first time (exit 5), succeeds afterwards.
            let hook = "if [ -e '\(marker)' ]; then printf '%s\\n' \"$AGENT_SERIAL\" > '\(report)'; else touch '\(marker)'; exit 5; fi"
            let daemon = try ProductBinary.tool("agent").start(["renew", "--daemon", "--out", out, "--check-interval", "2", "--exec", hook])
            defer { daemon.stop(signal: SIGTERM) }
            #expect(daemon.waitForOutput("renewal hook succeeded on its retry", timeout: 60), "\(daemon.output)")
            #expect(daemon.output.contains("the renewal hook --exec"), "\(daemon.output)")
            #expect(daemon.output.contains("exited with status 5; the renewed certificate stays installed"), "\(daemon.output)")
            let serial = try String(contentsOfFile: report, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!RenewalRetryTests.same(serial, before))
            // The window stays open (validity = window), so the daemon renews every round: stop it
            // before reading key and certificate, two files a running renewal may be switching.
            daemon.stop(signal: SIGTERM)
            #expect(try opensslPairMatches(key: "\(out)/agent.key", certificate: "\(out)/agent.crt"))
        }
    }
}

extension DateFormatter {
    /// openssl's `notAfter=Dec  6 07:00:00 2026 GMT`.
    static var openssl: DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        return formatter
    }
}
