import Foundation
import TestSupport
import Testing

@testable import ApplianceKit

/// Issue #17: the agent-status fast path against the real `appliance serve` (``ApplianceProcess``),
/// with curl and a python `ssl` client that keeps ONE connection open between steps. The fast
/// answers are seen in `rootkeeper_agent_status_fast_answers_total` on `/metrics`, so a test
/// cannot pass without the fast path being taken.
@Suite("Agent-status fast path against the real serve (curl, python ssl, /metrics)", .serialized)
struct AgentStatusFastPathServeTests {
    /// A python `ssl` client on one kept-alive mTLS connection, running `steps`:
    /// `get[:PATH]`, `pipe:P1,P2,…` (all sent at once), `close` (`Connection: close`), `http10`
    /// (HTTP/1.0 without keep-alive), `wait:NAME` (writes NAME.ready, waits for NAME.go).
    /// Each step prints one JSON line: raw responses (base64, null once the server closed) and
    /// whether the server closed the connection afterwards.
    static let client = #"""
        import base64, json, os, socket, ssl, sys, time
        host, port, ca, cert, key, sync = sys.argv[1:7]
        STATUS = "/api/v1/agent/status"
        context = ssl.create_default_context(cafile=ca)
        context.check_hostname = False
        context.load_cert_chain(cert, key)
        sock = context.wrap_socket(socket.create_connection((host, int(port)), timeout=20))
        pending = b""
        def receive():
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            return chunk
        def response():
            global pending
            try:
                while b"\r\n\r\n" not in pending:
                    pending += receive()
                head, _, rest = pending.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                while len(rest) < length:
                    rest += receive()
                pending = rest[length:]
                return base64.b64encode(head + b"\r\n\r\n" + rest[:length]).decode()
            except (ConnectionError, ssl.SSLError, OSError):
                return None
        def closed():
            try:
                sock.settimeout(5)
                return sock.recv(1) == b""
            except socket.timeout:
                return False
            except (ConnectionError, ssl.SSLError, OSError):
                return True
        def request(path, version="HTTP/1.1", extra=""):
            return ("GET %s %s\r\nHost: localhost\r\n%s\r\n" % (path, version, extra)).encode()
        for step in sys.argv[7:]:
            kind, _, argument = step.partition(":")
            out = {"step": step}
            try:
                if kind == "get":
                    sock.sendall(request(argument or STATUS))
                    out["responses"] = [response()]
                elif kind == "pipe":
                    paths = argument.split(",")
                    sock.sendall(b"".join(request(path) for path in paths))
                    out["responses"] = [response() for _ in paths]
                elif kind == "close":
                    sock.sendall(request(STATUS, extra="Connection: close\r\n"))
                    out["responses"] = [response()]
                    out["closed"] = closed()
                elif kind == "http10":
                    sock.sendall(request(STATUS, version="HTTP/1.0"))
                    out["responses"] = [response()]
                    out["closed"] = closed()
                elif kind == "wait":
                    open(os.path.join(sync, argument + ".ready"), "w").close()
                    deadline = time.time() + 120
                    while not os.path.exists(os.path.join(sync, argument + ".go")) and time.time() < deadline:
                        time.sleep(0.05)
            except (ConnectionError, ssl.SSLError, OSError) as error:
                out["error"] = str(error)
            print(json.dumps(out), flush=True)
        """#

    struct Step: Decodable {
        let step: String
        let responses: [String?]?
        let closed: Bool?
        let error: String?

        /// The raw responses; nil for one the server did not give (connection closed).
        var raw: [String?] {
            (responses ?? []).map { $0.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } }
        }
    }

    /// One kept-alive connection of `agent` running `steps`; `at` runs the test's action at each
    /// `wait:NAME` step (the connection stays open meanwhile).
    static func keptAlive(
        _ serve: ApplianceProcess, _ agent: (cert: String, key: String), root: String, in work: TemporaryDirectory, steps: [String],
        at actions: [String: () async throws -> Void] = [:]
    ) async throws -> [Step] {
        let script = work.file("keepalive.py")
        try Data(client.utf8).write(to: URL(fileURLWithPath: script))
        let sync = work.file("sync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: sync, withIntermediateDirectories: true)
        let running = try ExternalTool("python3").start(
            [script, "127.0.0.1", "\(serve.https)", root, agent.cert, agent.key, sync] + steps)
        defer { running.stop() }
        for step in steps where step.hasPrefix("wait:") {
            let name = String(step.dropFirst(5))
            let ready = "\(sync)/\(name).ready"
            for _ in 0..<600 where !FileManager.default.fileExists(atPath: ready) && running.isRunning { usleep(50_000) }
            try #require(FileManager.default.fileExists(atPath: ready), "the client never reached \(step): \(running.output)")
            try await actions[name]?()
            _ = FileManager.default.createFile(atPath: "\(sync)/\(name).go", contents: nil)
        }
        for _ in 0..<600 where running.isRunning { usleep(50_000) }
        let lines = running.output.split(separator: "\n").filter { $0.hasPrefix("{") }
        let decoded = try lines.map { try JSONDecoder().decode(Step.self, from: Data($0.utf8)) }
        try #require(decoded.count == steps.count, "client output: \(running.output)")
        return decoded
    }

    /// A response without its `Date` line (the only header that may differ between two answers).
    static func withoutDate(_ response: String?) -> String? {
        response.map {
            $0.split(separator: "\r\n", omittingEmptySubsequences: false).filter { !$0.lowercased().hasPrefix("date:") }.joined(separator: "\r\n")
        }
    }

    static func fastAnswers(_ serve: ApplianceProcess) async throws -> Double {
        try await serve.metric(AgentStatusFastPath.answersMetric) ?? 0
    }

    @Test(
        "fast and slow answers are byte-identical (curl -i, one connection; python ssl); pipelined requests are answered in order; Connection: close and HTTP/1.0 are answered then closed",
        .timeLimit(.minutes(5)))
    func identicalOrderedAndClosing() async throws {
        let (h, serve, _) = try await RevocationReasonTests.served()
        defer {
            serve.stop()
            h.remove()
        }
        let root = h.directory.file("root.pem")
        let agent = try await serve.enrollWithCurl("fast-01", in: h.directory, root: root)
        let status = "\(serve.httpsURL)/api/v1/agent/status"

        // curl -i, twice on one connection: the first (cold caches) is the slow route's answer,
        // the second comes from memory; byte for byte the same apart from the Date line.
        let before = try await Self.fastAnswers(serve)
        let curl = try await ExternalTool("curl").runAsync(
            ["-sS", "-i", "--max-time", "20", "--cacert", root, "--cert", agent.cert, "--key", agent.key, status, status],
            environment: serve.environment)
        try #require(curl.succeeded, "\(curl.output)")
        let answers = curl.stdout.components(separatedBy: "HTTP/1.1 ").filter { !$0.isEmpty }.map { "HTTP/1.1 " + $0 }
        try #require(answers.count == 2, "\(curl.stdout)")
        #expect(answers[0].hasPrefix("HTTP/1.1 200 OK\r\n") && answers[0].contains("\"state\":\"issued\""), "\(answers[0])")
        #expect(Self.withoutDate(answers[0]) == Self.withoutDate(answers[1]), "slow: \(answers[0])\nfast: \(answers[1])")
        let afterCurl = try await Self.fastAnswers(serve)
        #expect(afterCurl == before + 1, "the second request was answered from memory (\(before) → \(afterCurl))")

        // One python connection: a poll, a pipeline that mixes in a routed request, then close.
        let steps = try await Self.keptAlive(
            serve, agent, root: root, in: h.directory,
            steps: ["get", "pipe:/api/v1/agent/status,/.well-known/est/cacerts,/api/v1/agent/status", "close"])
        let reference = Self.withoutDate(answers[0])
        #expect(Self.withoutDate(steps[0].raw.first ?? nil) == reference, "\(steps[0])")
        let piped = steps[1].raw
        try #require(piped.count == 3 && piped.allSatisfy { $0 != nil }, "\(steps[1])")
        #expect(Self.withoutDate(piped[0]) == reference)
        #expect(piped[1]?.contains("application/pkcs7-mime") == true, "the routed answer comes second: \(piped[1] ?? "")")
        #expect(Self.withoutDate(piped[2]) == reference)
        #expect(Self.withoutDate(steps[2].raw.first ?? nil)?.hasPrefix("HTTP/1.1 200 OK\r\n") == true, "\(steps[2])")
        #expect(steps[2].raw.first??.lowercased().contains("connection: close") == true, "\(steps[2])")
        #expect(steps[2].closed == true, "Connection: close: the server closes after the answer")

        // HTTP/1.0 without keep-alive: answered, then closed.
        let old = try await Self.keptAlive(serve, agent, root: root, in: h.directory, steps: ["get", "http10"])
        #expect(old[1].raw.first??.hasPrefix("HTTP/1.1 200 OK\r\n") == true, "\(old[1])")
        #expect(old[1].closed == true, "HTTP/1.0: the server closes after the answer")
        let afterAll = try await Self.fastAnswers(serve)
        #expect(afterAll > afterCurl, "the kept-alive polls took the fast path (\(afterCurl) → \(afterAll))")
    }

    @Test(
        "on one kept-alive connection: after appliance certs revoke the very next request is not answered 200 (connection closed or 403); after a renewal the old certificate's next answer says superseded",
        .timeLimit(.minutes(5)))
    func revocationAndRenewalOnOneConnection() async throws {
        let (h, serve, _) = try await RevocationReasonTests.served()
        defer {
            serve.stop()
            h.remove()
        }
        let root = h.directory.file("root.pem")
        let revoked = try await serve.enrollWithCurl("fast-02", in: h.directory, root: root)
        var fastAtRevocation = 0.0
        let revocation = try await Self.keptAlive(
            serve, revoked, root: root, in: h.directory, steps: ["get", "get", "wait:revoke", "get", "get"],
            at: [
                "revoke": {
                    fastAtRevocation = try await Self.fastAnswers(serve)
                    let result = try await serve.admin([
                        "certs", "revoke", try ApplianceProcess.serial(of: revoked.cert), "--reason", "keyCompromise",
                    ])
                    try #require(result.succeeded, "\(result.output)")
                }
            ])
        #expect(revocation[1].raw.first??.hasPrefix("HTTP/1.1 200") == true, "warm before the revocation: \(revocation[1])")
        for step in revocation[3...] {
            let answer = step.raw.first ?? nil
            #expect(answer == nil || answer?.hasPrefix("HTTP/1.1 403") == true, "after the revocation: \(step)")
        }
        #expect(try await Self.fastAnswers(serve) == fastAtRevocation, "no fast answer after the revocation")

        let renewed = try await serve.enrollWithCurl("fast-03", in: h.directory, root: root)
        let renewal = try await Self.keptAlive(
            serve, renewed, root: root, in: h.directory, steps: ["get", "get", "wait:renew", "get", "get"],
            at: ["renew": { _ = try await serve.reenrollWithCurl(renewed, as: "fast-03-next", in: h.directory, root: root) }])
        #expect(renewal[1].raw.first??.contains("\"state\":\"issued\"") == true, "\(renewal[1])")
        for step in renewal[3...] {
            #expect(step.raw.first??.contains("\"state\":\"superseded\"") == true, "after the renewal: \(step)")
        }
    }
}
