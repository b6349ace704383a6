import AgentKit
import ApplianceKit
import Foundation
import TestSupport
import Testing

/// Issue #11, part 6: "`agent enroll --token` puts the token in argv (visible in `ps`)". The
/// token now comes from a 0600 file, a file descriptor or the terminal; the real `agent` binary
/// is run against a running appliance and its `/proc/<pid>/cmdline` is read while it waits for
/// the token.
@Suite("The agent takes its enrolment token from a file, a descriptor or a prompt, never argv", .serialized)
struct AgentTokenSourceTests {
    static var agent: String { ProductBinary.path("agent") }

    static func enrollArguments(_ app: RunningAppliance, hostname: String, out: String) -> [String] {
        ["enroll", "--server", app.httpsURL, "--pin", SPKIPin(of: app.pki.intermediate).description, "--hostname", hostname, "--out", out]
    }

    @Test("--token VALUE is refused with the alternatives named, without echoing the value or sending anything")
    func tokenInArgvRefused() async throws {
        try await RunningAppliance.with { app in
            let token = try await app.ca.createToken(hostname: nil, caller: AdminCaller(uid: 0, pid: 0))
            let result = try await ExternalTool(Self.agent).runAsync(
                Self.enrollArguments(app, hostname: "argv-01", out: app.directory.file("a")) + ["--token", token])
            #expect(!result.succeeded)
            for alternative in ["--token-file", "--token-fd", "--token-prompt", "ps"] {
                #expect(result.stderr.contains(alternative), "\(result.output)")
            }
            #expect(!result.output.contains(token), "the refusal must not repeat the secret")
            #expect(app.ca.issuedCount == 0)
            #expect(app.ca.state.withLockedValue { $0.tokens.contains(token) }, "nothing reached the appliance")
        }
    }

    @Test("--token-file must be private: a group/world-readable file is refused; at 0600 the enrolment succeeds")
    func tokenFile() async throws {
        try await RunningAppliance.with { app in
            let token = try await app.ca.createToken(hostname: nil, caller: AdminCaller(uid: 0, pid: 0))
            let file = app.directory.file("token.txt")
            _ = FileManager.default.createFile(atPath: file, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o644])
            let out = app.directory.file("agent-file")
            let arguments = Self.enrollArguments(app, hostname: "file-01", out: out) + ["--token-file", file]
            let loose = try await ExternalTool(Self.agent).runAsync(arguments)
            #expect(!loose.succeeded)
            #expect(loose.stderr.contains("chmod 600 \(file)"), "\(loose.output)")
            #expect(!loose.output.contains(token))
            #expect(app.ca.state.withLockedValue { $0.tokens.contains(token) }, "the token was not used")
            chmod(file, 0o600)
            let enrolled = try await ExternalTool(Self.agent).runAsync(arguments)
            #expect(enrolled.succeeded && enrolled.stdout.contains("enrolled: serial"), "\(enrolled.output)")
            #expect(!app.ca.state.withLockedValue { $0.tokens.contains(token) }, "the token was consumed by this enrolment")
            let verify = try await ExternalTool("openssl").runAsync(["verify", "-CAfile", "\(out)/ca-chain.crt", "\(out)/agent.crt"])
            #expect(verify.succeeded, "\(verify.output)")
        }
    }

    @Test("--token-fd: while the agent waits for the token, its command line and environment do not contain it; then it enrols")
    func tokenFileDescriptor() async throws {
        try await RunningAppliance.with { app in
            let token = try await app.ca.createToken(hostname: nil, caller: AdminCaller(uid: 0, pid: 0))
            let fifo = app.directory.file("token.fifo")
            #expect(mkfifo(fifo, 0o600) == 0)
            let out = app.directory.file("agent-fd")
            // `3<>` opens the FIFO without waiting for a writer; the agent then blocks reading fd 3.
            let command =
                (["exec", Self.agent] + Self.enrollArguments(app, hostname: "fd-01", out: out) + ["--token-fd", "3"])
                .map { "'\($0)'" }.joined(separator: " ") + " 3<>'\(fifo)'"
            let running = try ExternalTool("bash").start(["-c", command])
            defer { running.stop(signal: SIGKILL) }
            let agentPID = running.pid
            // bash execs the agent in place: wait until the command line is the agent's own.
            var commandLine = ""
            for _ in 0..<100 {
                commandLine = String(
                    decoding: (FileManager.default.contents(atPath: "/proc/\(agentPID)/cmdline") ?? Data()).map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self
                )
                if commandLine.hasPrefix(Self.agent) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(commandLine.hasPrefix(Self.agent) && commandLine.contains("--token-fd 3"), "\(commandLine)")
            #expect(!commandLine.contains(token))
            let environment = FileManager.default.contents(atPath: "/proc/\(agentPID)/environ") ?? Data()
            #expect(environment.range(of: Data(token.utf8)) == nil)
            #expect(running.isRunning && app.ca.issuedCount == 0, "the agent waits for the token: \(running.output)")

            let writer = open(fifo, O_WRONLY)
            #expect(writer >= 0)
            _ = (token + "\n").withCString { write(writer, $0, strlen($0)) }
            close(writer)
            for _ in 0..<400 where running.isRunning { try await Task.sleep(for: .milliseconds(50)) }
            #expect(running.output.contains("enrolled: serial"), "\(running.output)")
            #expect(app.ca.issuedCount == 1)
        }
    }

    @Test("--token-prompt without a terminal fails and says what to use instead; two token sources at once are refused")
    func promptAndConflicts() async throws {
        try await RunningAppliance.with { app in
            let out = app.directory.file("agent-prompt")
            let prompt = try await ExternalTool("setsid").runAsync(
                [Self.agent] + Self.enrollArguments(app, hostname: "tty-01", out: out) + ["--token-prompt"])
            #expect(!prompt.succeeded)
            #expect(prompt.stderr.contains("no terminal") && prompt.stderr.contains("file descriptor"), "\(prompt.output)")
            let both = try await ExternalTool(Self.agent).runAsync(
                Self.enrollArguments(app, hostname: "tty-01", out: out) + ["--token-fd", "0", "--token-prompt"])
            #expect(!both.succeeded && both.stderr.contains("at most one of --token-file, --token-fd and --token-prompt"), "\(both.output)")
            #expect(app.ca.issuedCount == 0)
        }
    }
}
