import Foundation
import TestSupport
import Testing

/// Issue 18, "error messages for people": the common mistakes with the real `appliance` and
/// `agent` binaries — missing files, wrong modes, a wrong URL, an unreachable server, bad flags,
/// a wrong token — each answered with one sentence that names the problem and the fix, never an
/// internal code name (`unavailable: …`), a raw Foundation or NIO error, or NIO's address dump.
/// (`ceremony`'s messages are swept by its own tests.)
@Suite("Error messages name the problem and the fix (appliance, agent)", .serialized)
struct MessageSweepTests {
    /// One mistake, what it must be answered with (every `mentions` text), and how.
    struct Mistake: CustomStringConvertible {
        var tool: String
        var arguments: [String]
        var environment: [String: String] = [:]
        var mentions: [String]
        var description: String { "\(tool) \(arguments.joined(separator: " "))" }
    }

    /// What no message may contain.
    static let forbidden = [
        "Error Domain=", "NSCocoaErrorDomain", "NSPOSIXErrorDomain", "SingleConnectionFailure", "NIOConnectionError", "IOError(",
        "[IPv4]", "[IPv6]", "serviceUnavailable:", "unavailable:", "objectExists:", "functionFailed:", "invalidInput:",
        "Error: refused:", "transport:", "forbidden:", "notFound:", "malformedRequest:", "invalidConfiguration:", "insecurePermissions:",
        "ioFailure:", "stillPending:", "hookFailed:", "untrustedServer:",
    ]

    static func check(_ mistake: Mistake) async throws {
        let result = try await ProductBinary.tool(mistake.tool).runAsync(mistake.arguments, environment: mistake.environment, timeout: 60)
        #expect(!result.succeeded, "\(mistake) succeeded: \(result.output)")
        let message = result.stderr
        #expect(!message.isEmpty, "\(mistake): nothing on stderr (stdout: \(result.stdout))")
        for text in Self.forbidden {
            #expect(!message.contains(text), "\(mistake): the message contains \(text): \(message)")
        }
        // `Error: someCode: …` — a camelCase word before the first colon is an internal name.
        #expect(message.firstMatch(of: #/Error: [a-z]+[A-Z][A-Za-z]*: /#) == nil, "\(mistake): \(message)")
        for text in mistake.mentions {
            #expect(message.contains(text), "\(mistake): the message does not say \(text): \(message)")
        }
    }

    /// A pin of the right form for a key nobody has.
    static let pin = "sha256/" + Data(repeating: 7, count: 32).base64EncodedString()

    @Test("mistakes made without a running appliance: missing files, wrong modes, wrong URLs, bad flags")
    func offlineMistakes() async throws {
        let work = try TemporaryDirectory("sweep")
        defer { work.remove() }
        let empty = work.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        let open = work.file("open.secret")
        try #require(FileManager.default.createFile(atPath: open, contents: Data("secret\n".utf8), attributes: [.posixPermissions: 0o644]))
        let config = work.file("appliance.yaml")
        // As root, serve insists on dropping to `user:` (it reads the secret first, as root).
        try "state_directory: \(empty)\n\(geteuid() == 0 ? "user: nobody\n" : "")".write(toFile: config, atomically: true, encoding: .utf8)
        let missing = work.file("missing")
        let agentsOut = work.file("agent")
        // A port that is bound but not listening: connecting is refused.
        let closed = try ClosedPort()
        defer { closed.close() }

        let mistakes = [
            // appliance
            Mistake(
                tool: "appliance", arguments: ["agents", "list", "--state-dir", empty],
                mentions: ["cannot reach the running appliance at \(empty)/admin.sock", "No such file or directory", "appliance serve"]),
            Mistake(
                tool: "appliance", arguments: ["certs", "list", "--state-dir", missing],
                mentions: ["cannot reach the running appliance", "appliance serve"]),
            Mistake(
                tool: "appliance", arguments: ["audit", "verify", "--state-dir", empty],
                mentions: ["no audit journal at \(empty)/audit/audit.jsonl", "--state-dir"]),
            Mistake(tool: "appliance", arguments: ["audit", "list", "--state-dir", empty], mentions: ["no audit journal", "--state-dir"]),
            Mistake(
                tool: "appliance", arguments: ["serve", "--config", missing, "--passphrase-file", open],
                mentions: [missing, "No such file or directory"]),
            Mistake(
                tool: "appliance", arguments: ["serve", "--config", config, "--passphrase-file", open],
                mentions: [open, "mode 0644", "chmod 600"]),
            Mistake(
                tool: "appliance", arguments: ["serve", "--config", config, "--passphrase-file", missing],
                mentions: ["cannot read \(missing)", "No such file or directory", "check the path"]),
            Mistake(tool: "appliance", arguments: ["certs", "expiring", "--days", "0", "--state-dir", empty], mentions: ["--days must be 1–3650"]),
            Mistake(tool: "appliance", arguments: ["agents", "list", "--formt", "json", "--state-dir", empty], mentions: ["--formt", "--format"]),
            Mistake(tool: "appliance", arguments: ["agents", "list", "--format", "yaml", "--state-dir", empty], mentions: ["yaml", "text", "json"]),
            Mistake(
                tool: "appliance", arguments: ["agents", "revoke", "0f", "--reason", "holiday", "--state-dir", empty],
                mentions: ["holiday", "keyCompromise"]),
            Mistake(
                tool: "appliance", arguments: ["serve", "--config", config, "--passphrase-file", open], environment: ["ROOTKEEPER_HTTPS_PRT": "8443"],
                mentions: ["ROOTKEEPER_HTTPS_PRT"]),
            Mistake(
                tool: "appliance",
                arguments: [
                    "intermediate", "install", "--state-dir", empty, "--from", missing,
                    "--root-fingerprint", String(repeating: "a", count: 64),
                ],
                mentions: ["cannot list bundle directory \(missing): No such file or directory", "MANIFEST"]),
            Mistake(
                tool: "appliance", arguments: ["backup", "verify", "--file", missing, "--passphrase-file", missing],
                mentions: ["cannot read \(missing)", "check the path"]),
            // agent
            Mistake(
                tool: "agent", arguments: ["status", "--out", empty],
                mentions: ["\(empty) holds no enrolled agent", "No such file or directory", "agent enroll"]),
            Mistake(tool: "agent", arguments: ["renew", "--out", missing], mentions: ["holds no enrolled agent", "agent enroll"]),
            Mistake(
                tool: "agent", arguments: ["enroll", "--server", "127.0.0.1:8443", "--pin", Self.pin, "--hostname", "web-01", "--out", agentsOut],
                mentions: ["missing https://", "https://127.0.0.1:8443"]),
            Mistake(
                tool: "agent",
                arguments: ["enroll", "--server", "http://127.0.0.1:8443", "--pin", Self.pin, "--hostname", "web-01", "--out", agentsOut],
                mentions: ["http://", "https:// only"]),
            Mistake(
                tool: "agent",
                arguments: [
                    "enroll", "--server", "https://127.0.0.1:\(closed.port)", "--pin", Self.pin, "--hostname", "web-01",
                    "--out", agentsOut, "--max-wait", "1",
                ],
                mentions: ["cannot connect to the appliance at 127.0.0.1:\(closed.port)", "Connection refused", "appliance serve"]),
            Mistake(
                tool: "agent",
                arguments: [
                    "enroll", "--server", "https://127.0.0.1:8443", "--pin", Self.pin, "--hostname", "web-01",
                    "--out", agentsOut, "--token-file", missing,
                ],
                mentions: ["cannot read \(missing)", "No such file or directory", "check the path"]),
            Mistake(
                tool: "agent",
                arguments: [
                    "enroll", "--server", "https://127.0.0.1:8443", "--pin", Self.pin, "--hostname", "web-01",
                    "--out", agentsOut, "--token-file", open,
                ],
                mentions: [open, "chmod 600"]),
            Mistake(
                tool: "agent",
                arguments: [
                    "enroll", "--server", "https://127.0.0.1:8443", "--pin", Self.pin, "--hostname", "web-01",
                    "--out", agentsOut, "--token", "abc",
                ],
                mentions: ["--token-file", "--token-prompt"]),
            Mistake(
                tool: "agent", arguments: ["renew", "--out", empty, "--reload-unit", "nginx; reboot"],
                mentions: ["not a systemd unit name", "nginx.service"]),
            Mistake(
                tool: "agent", arguments: ["renew", "--out", empty, "--daemon", "--check-interval", "0"],
                mentions: ["--check-interval must be at least 1"]),
            Mistake(tool: "agent", arguments: ["renew", "--out", empty, "--daemon", "--force"], mentions: ["--force", "--daemon"]),
            Mistake(tool: "agent", arguments: ["renw"], mentions: ["renw", "agent --help"]),
        ]
        for mistake in mistakes { try await Self.check(mistake) }
        #expect(!FileManager.default.fileExists(atPath: agentsOut + "/agent-state.json"))
    }

    @Test("mistakes against a running appliance: a wrong token, an unknown agent, a mistyped serial; the listing shows addresses as IP:port")
    func servingMistakes() async throws {
        try await ApplianceProcess.with { app in
            let wrongToken = app.directory.file("wrong.token")
            try #require(
                FileManager.default.createFile(atPath: wrongToken, contents: Data("not-a-token\n".utf8), attributes: [.posixPermissions: 0o600]))
            let url = "https://127.0.0.1:\(app.https)"
            let pin = try app.intermediatePin()
            let mistakes = [
                Mistake(
                    tool: "agent",
                    arguments: [
                        "enroll", "--server", url, "--pin", pin, "--hostname", "sweep-01", "--out",
                        app.directory.file("sweep-01"), "--token-file", wrongToken,
                    ],
                    mentions: ["the appliance refused the enrolment (HTTP 403)", "token", "appliance agents token --hostname sweep-01"]),
                Mistake(
                    tool: "agent",
                    arguments: [
                        "enroll", "--server", url, "--pin", Self.pin, "--hostname", "sweep-02", "--out",
                        app.directory.file("sweep-02"), "--token-file", wrongToken,
                    ],
                    mentions: ["refusing 127.0.0.1", "pin", "nothing was sent"]),
                Mistake(
                    tool: "appliance", arguments: ["agents", "approve", "3f0c6a52-0000-4000-8000-000000000000", "--state-dir", app.stateRoot],
                    mentions: ["no pending registration 3f0c6a52-0000-4000-8000-000000000000"]),
                Mistake(tool: "appliance", arguments: ["certs", "show", "zz", "--state-dir", app.stateRoot], mentions: ["zz"]),
            ]
            for mistake in mistakes { try await Self.check(mistake) }

            // A pending registration's source is listed as an address, not NIO's `[IPv4]…/…:port`.
            let pending = try app.enrol(csrDER: try ApplianceProcess.agentCSR(hostname: "sweep-03"), token: nil)
            #expect(pending.status == 202, "\(pending.body)")
            let listing = try await ProductBinary.tool("appliance").runAsync(["agents", "list", "--state-dir", app.stateRoot])
            #expect(listing.stdout.contains("sweep-03") && listing.stdout.contains("source=127.0.0.1"), "\(listing.output)")
            #expect(!listing.stdout.contains("[IPv4]"), "\(listing.output)")
        }
    }
}

/// A loopback TCP port that is bound but not listening, so a connection to it is refused.
struct ClosedPort {
    let fd: Int32
    let port: Int

    init() throws {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, length) == 0 && getsockname(socketFD, $0, &length) == 0 }
        }
        try #require(socketFD >= 0 && bound)
        fd = socketFD
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}
