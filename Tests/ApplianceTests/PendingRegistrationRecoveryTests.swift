import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing

/// Issue #12, part 7: "a tokenless `agent enroll` that gives up after `--max-wait` has not saved
/// its key, so the next run presents a new key and gets `403 … hostname pend-01 is held by
/// registration … for another agent or key` — also after approval; `agents reject` says there is
/// no pending registration, `agents revoke` does not know the agent, and a token is refused too."
/// Played with the real `agent` and `appliance` binaries against a real `appliance serve` (file
/// key, SQLite store) on loopback.
@Suite("A timed-out enrolment resumes, and an administrator can release its hostname", .serialized)
struct PendingRegistrationRecoveryTests {
    /// `appliance init` → test ceremony → `intermediate install` → `appliance serve` as `nobody`.
    struct Serving {
        let harness: SetupHarness
        let process: ApplianceProcess
        var httpsURL: String { process.httpsURL }
        var state: String { harness.state.root.path }
        var rootPin: String { harness.pki.root.publicKey.spkiPin }

        static func start() async throws -> Serving {
            // Retry-After 1 s keeps the waits short; the per-agent rate limit is off because the
            // test re-runs one agent more often per minute than a real one would.
            let (process, harness) = try await ApplianceProcess.installed(
                extraConfiguration: """
                    enrollment:
                      retry_after_seconds: 1
                    limits:
                      enrollments_per_minute_per_agent: 0
                    """)
            return Serving(harness: harness, process: process)
        }

        func stop() {
            process.stop()
            harness.remove()
        }

        func appliance(_ arguments: [String]) async throws -> ExternalTool.Result {
            try await ProductBinary.tool("appliance").runAsync(arguments + ["--state-dir", state])
        }

        /// `agent enroll` without a token, giving up after `--max-wait 1`.
        func enroll(hostname: String, out: String, tokenFile: String? = nil) async throws -> ExternalTool.Result {
            var arguments = ["enroll", "--server", httpsURL, "--pin", rootPin, "--hostname", hostname, "--out", out, "--max-wait", "1"]
            if let tokenFile { arguments += ["--token-file", tokenFile] }
            return try await ProductBinary.tool("agent").runAsync(arguments, timeout: 60)
        }

        /// A one-time token for `hostname` in a 0600 file.
        func tokenFile(hostname: String) async throws -> String {
            let output = try await appliance(["agents", "token", "--hostname", hostname])
            let token = try #require(output.stdout.split(whereSeparator: \.isWhitespace).last.map(String.init), "\(output.output)")
            let path = harness.directory.file("\(hostname).token")
            _ = FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
            return path
        }
    }

    static func mode(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1
    }

    /// The registration ID in the agent's "who runs: appliance agents approve <id>" line.
    static func approveCommandID(_ output: String) -> String? {
        output.firstMatch(of: /appliance agents approve ([0-9a-f-]{36})/).map { String($0.1) }
    }

    @Test("a timed-out enrolment keeps its key (0600, dir 0700) and agent ID; reruns resume the same registration and finish after approval")
    func timedOutEnrolmentResumes() async throws {
        let app = try await Serving.start()
        defer { app.stop() }
        let out = app.harness.directory.file("pend-01")

        let first = try await app.enroll(hostname: "pend-01", out: out)
        #expect(!first.succeeded && first.stderr.contains("still pending approval"), "\(first.output)")
        #expect(first.stderr.contains("still pending after"), "progress is printed while waiting: \(first.output)")
        let registration = try #require(Self.approveCommandID(first.stderr), "the agent names the approve command: \(first.output)")
        #expect(try Self.mode(out) == 0o700)
        #expect(try Self.mode("\(out)/pending.key") == 0o600)
        #expect(FileManager.default.fileExists(atPath: "\(out)/enrollment-pending.json"))
        #expect(!FileManager.default.fileExists(atPath: "\(out)/agent.crt"))
        let savedKey = try String(contentsOfFile: "\(out)/pending.key", encoding: .utf8)

        // A rerun resumes: same registration, no "held by registration … for another agent or key".
        let second = try await app.enroll(hostname: "pend-01", out: out)
        #expect(!second.succeeded && second.stderr.contains("resuming the enrolment of pend-01"), "\(second.output)")
        #expect(!second.output.contains("is held by registration"), "\(second.output)")
        #expect(Self.approveCommandID(second.stderr) == registration, "\(second.output)")
        let list = try await app.appliance(["agents", "list"])
        #expect(list.stdout.split(separator: "\n").contains { $0.hasPrefix("\(registration) pending pend-01") }, "\(list.output)")

        // The administrator runs exactly the command the agent printed.
        let approve = try await app.appliance(["agents", "approve", registration])
        #expect(approve.succeeded, "\(approve.output)")
        let third = try await app.enroll(hostname: "pend-01", out: out)
        #expect(third.succeeded && third.stdout.contains("enrolled: serial"), "\(third.output)")
        #expect(try String(contentsOfFile: "\(out)/agent.key", encoding: .utf8) == savedKey, "the key made by the first run is the enrolled key")
        #expect(!FileManager.default.fileExists(atPath: "\(out)/enrollment-pending.json"))
        let openssl = try ExternalTool("openssl")
        let certificateKey = try openssl.run(["x509", "-in", "\(out)/agent.crt", "-noout", "-pubkey"]).stdout
        let savedPublicKey = try openssl.run(["pkey", "-in", "\(out)/agent.key", "-pubout"]).stdout
        #expect(!certificateKey.isEmpty && certificateKey == savedPublicKey)
        let verify = try openssl.run([
            "verify", "-CAfile", app.harness.state.path("ca", "root-ca.crt"),
            "-untrusted", app.harness.state.path("ca", "intermediate-ca.crt"), "\(out)/agent.crt",
        ])
        #expect(verify.succeeded, "\(verify.output)")
        let status = try await ProductBinary.tool("agent").runAsync(["status", "--out", out])
        #expect(status.succeeded && status.stdout.contains("\"hostname\":\"pend-01\""), "\(status.output)")
        // An enrolled directory is not enrolled over: renew it instead.
        let again = try await app.enroll(hostname: "pend-01", out: out)
        #expect(!again.succeeded && again.stderr.contains("agent renew --out \(out)"), "\(again.output)")
    }

    @Test("agents release frees a hostname held by an approved, never-fetched registration: a token enrolment then succeeds; audited")
    func releaseFreesHostname() async throws {
        let app = try await Serving.start()
        defer { app.stop() }
        let lost = app.harness.directory.file("pend-02-lost")
        let first = try await app.enroll(hostname: "pend-02", out: lost)
        let registration = try #require(Self.approveCommandID(first.stderr), "\(first.output)")
        #expect(try await app.appliance(["agents", "approve", registration]).succeeded)
        let list = try await app.appliance(["agents", "list"])
        #expect(list.stdout.contains("\(registration) approved pend-02"), "an approved, unfetched registration is listed: \(list.output)")

        // The host is rebuilt: a new key with a token is refused while the registration holds the name.
        let rebuilt = app.harness.directory.file("pend-02-rebuilt")
        let token = try await app.tokenFile(hostname: "pend-02")
        let refused = try await app.enroll(hostname: "pend-02", out: rebuilt, tokenFile: token)
        #expect(!refused.succeeded && refused.stderr.contains("is held by registration \(registration)"), "\(refused.output)")
        #expect(refused.stderr.contains("appliance agents release \(registration)"), "the refusal names the remedy: \(refused.output)")

        let released = try await app.appliance(["agents", "release", "pend-02", "--reason", "host rebuilt"])
        #expect(released.succeeded && released.stdout.contains("\(registration) released pend-02"), "\(released.output)")
        let twice = try await app.appliance(["agents", "release", registration])
        #expect(!twice.succeeded && twice.stderr.contains("no open registration"), "\(twice.output)")

        // The rebuilt host resumes its own key with the (unconsumed) token and is enrolled.
        let enrolled = try await app.enroll(hostname: "pend-02", out: rebuilt, tokenFile: token)
        #expect(enrolled.succeeded && enrolled.stdout.contains("enrolled: serial"), "\(enrolled.output)")
        // The old key, if it ever returns, is told its registration was released.
        let old = try await app.enroll(hostname: "pend-02", out: lost)
        #expect(!old.succeeded && old.stderr.contains("released, its hostname freed: host rebuilt"), "\(old.output)")

        let journal = app.harness.state.path("audit", "audit.jsonl")
        var text = ""
        for _ in 0..<150 {
            text = (try? String(contentsOfFile: journal, encoding: .utf8)) ?? ""
            if text.contains("registration.released") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let line = text.split(separator: "\n").first { $0.contains("\"action\":\"registration.released\"") }.map(String.init) ?? ""
        #expect(line.contains("\"actor\":\"admin:uid=0\"") && line.contains(registration) && line.contains("host rebuilt"), "\(line)")
        #expect(try await app.appliance(["audit", "verify"]).stdout.contains("audit journal OK"))
    }
}
