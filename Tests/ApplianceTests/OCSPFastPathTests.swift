import ApplianceKit
import Foundation
import TestSupport
import Testing

/// The OCSP fast path of the plain-HTTP listener (issue #17, docs/endpoints.md#ocsp): against the
/// real `serve`, with openssl building the requests and verifying the answers, over raw loopback
/// sockets so that answers on one kept-alive connection, pipelining and closes are seen as sent.
/// `rootkeeper_ocsp_fast_path_total` shows which answers the fast path gave.
@Suite("OCSP fast path on the real serve: same answers as the route, revocation at once, connections kept right", .serialized)
struct OCSPFastPathTests {
    /// A served appliance with one enrolled agent and openssl's request for it without nonce.
    struct Served {
        let h: RenewalHarness
        let serve: ApplianceProcess
        let agent: (cert: String, key: String)
        let issuer: String
        let root: String
        /// DER OCSPRequest for the agent, one CertID, no nonce (`openssl ocsp -no_nonce`).
        let request: [UInt8]

        /// `limits`: YAML lines of a `limits:` block for the served configuration.
        static func make(limits: String = "") async throws -> Served {
            let h = try await RenewalHarness.make()
            let serve: ApplianceProcess
            do {
                // Fresh 90-day agent certificates are inside the renewal window at once.
                serve = try ApplianceProcess(
                    state: h.state.root.path, work: h.directory, passphrase: "correct horse battery staple",
                    extraConfiguration: "  renew_before_days: 90\n" + (limits.isEmpty ? "" : "limits:\n\(limits)"))
            } catch {
                h.remove()
                throw error
            }
            do {
                let root = h.directory.file("root.pem")
                let agent = try await serve.enrollWithCurl("fast-01", in: h.directory, root: root)
                let issuer = h.state.intermediateCertificate
                let out = h.directory.file("plain.req")
                let made = try await ExternalTool("openssl").runAsync(["ocsp", "-issuer", issuer, "-cert", agent.cert, "-no_nonce", "-reqout", out])
                try #require(made.succeeded, "\(made.output)")
                return Served(
                    h: h, serve: serve, agent: agent, issuer: issuer, root: root, request: [UInt8](try Data(contentsOf: URL(fileURLWithPath: out))))
            } catch {
                serve.stop()
                h.remove()
                throw error
            }
        }

        func stop() {
            serve.stop()
            h.remove()
        }

        /// Sends the agent's request once on a connection of its own (a miss: the route signs
        /// the answer and caches it) and returns the answer's body.
        func warm() async throws -> [UInt8] {
            let port = serve.http
            let post = Served.post(request)
            let answers = try await onOwnThread {
                let connection = try RawTCPConnection(port: port)
                defer { connection.close() }
                _ = connection.send(post)
                return connection.responses(1).responses
            }
            return try #require(answers.first, "no answer to the warming request").body
        }

        var fastAnswers: Double {
            get async throws { try await serve.metric("rootkeeper_ocsp_fast_path_total") ?? 0 }
        }

        /// `openssl ocsp -respin … -verify_other`: its output, after checking "Response verify OK".
        /// Without `requestFile`, the status of the agent's certificate (`…: good`); with it, the
        /// response as text (`Cert Status: good`, `OCSP Nonce`), its nonce checked by openssl
        /// against the one in that request (RFC 6960 §4.4.1: a mismatch prints a WARNING).
        func verify(_ body: [UInt8], requestFile: String? = nil) async throws -> String {
            let path = h.directory.file("resp-\(UUID().uuidString).der")
            try Data(body).write(to: URL(fileURLWithPath: path))
            var arguments = ["ocsp", "-respin", path, "-issuer", issuer, "-CAfile", root, "-verify_other", issuer]
            if let requestFile {
                arguments += ["-reqin", requestFile, "-resp_text"]
            } else {
                arguments += ["-cert", agent.cert, "-no_nonce"]
            }
            let check = try await ExternalTool("openssl").runAsync(arguments)
            #expect(check.output.contains("Response verify OK") && !check.output.contains("WARNING"), "\(check.output)")
            return check.stdout
        }

        static func post(_ der: [UInt8], version: String = "1.1", headers: String = "") -> [UInt8] {
            Array(
                "POST /ocsp HTTP/\(version)\r\nHost: a\r\nContent-Type: application/ocsp-request\r\nContent-Length: \(der.count)\r\n\(headers)\r\n"
                    .utf8)
                + der
        }

        /// `GET /health`: a request only the route answers.
        static let health = Array("GET /health HTTP/1.1\r\nHost: a\r\n\r\n".utf8)

        static func get(_ der: [UInt8]) -> [UInt8] {
            let encoded = Data(der).base64EncodedString()
                .replacingOccurrences(of: "+", with: "%2B").replacingOccurrences(of: "/", with: "%2F").replacingOccurrences(of: "=", with: "%3D")
            return Array("GET /ocsp/\(encoded) HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        }
    }

    @Test(
        "a cached answer comes from the fast path byte for byte as the route sent it, counted like the route's; after certs revoke the next request on the same kept-alive connection says revoked"
    )
    func sameAnswerAndRevocationAtOnce() async throws {
        let s = try await Served.make()
        defer { s.stop() }
        let goodSeries = "rootkeeper_ocsp_responses_total{status=\"good\"}"
        let durations = "rootkeeper_ocsp_response_duration_seconds_count"
        let fastBefore = try await s.fastAnswers
        let goodBefore = try await s.serve.metric(goodSeries) ?? 0
        let timedBefore = try await s.serve.metric(durations) ?? 0
        let post = Served.post(s.request)
        let get = Served.get(s.request)

        let port = s.serve.http
        let connection = try RawTCPConnection(port: port)
        defer { connection.close() }
        // 1: a miss, signed by the route and cached; 2: the same request, from the cache.
        let (first, second) = try await onOwnThread { () -> ([RawHTTPResponse], [RawHTTPResponse]) in
            _ = connection.send(post)
            let first = connection.responses(1).responses
            _ = connection.send(post)
            return (first, connection.responses(1).responses)
        }
        let slow = try #require(first.first, "no answer to the first request")
        let fast = try #require(second.first, "no answer to the second request on the same connection")
        #expect(slow.status == 200 && slow.header("content-type") == "application/ocsp-response", "\(slow)")
        #expect(fast.matches(slow), "fast path:\n\(fast)\nroute:\n\(slow)")
        #expect(fast.header("date") != nil && fast.header("server") == "rootkeeper", "\(fast)")
        #expect(try await s.verify(fast.body).contains(": good"))
        #expect(try await s.fastAnswers == fastBefore + 1, "the second answer did not come from the fast path")
        // Counted like the route's: two `good` answers, two latencies.
        #expect(try await s.serve.metric(goodSeries) ?? 0 == goodBefore + 2)
        #expect(try await s.serve.metric(durations) ?? 0 == timedBefore + 2)

        // GET /ocsp/{base64} of the same request: the same cached bytes, from the fast path.
        let byGET = try await onOwnThread {
            _ = connection.send(get)
            return connection.responses(1).responses
        }
        #expect(byGET.first?.body == slow.body, "\(byGET)")
        #expect(try await s.fastAnswers == fastBefore + 2)

        let revoke = try await s.serve.admin(["certs", "revoke", try ApplianceProcess.serial(of: s.agent.cert), "--reason", "keyCompromise"])
        try #require(revoke.succeeded, "\(revoke.output)")
        // The very next request on the same connection: revoked (the route signs it: the cached
        // `good` was dropped before revoke returned) — and then revoked from the fast path.
        let after = try await onOwnThread {
            _ = connection.send(post)
            return connection.responses(1).responses
        }
        let revoked = try #require(after.first, "no answer after the revocation on the kept-alive connection")
        let status = try await s.verify(revoked.body)
        #expect(status.contains(": revoked") && status.contains("keyCompromise"), "\(status)")
        #expect(try await s.fastAnswers == fastBefore + 2, "a `good` answer was served from the fast path after the revocation")
        let again = try await onOwnThread {
            _ = connection.send(post)
            return connection.responses(1).responses
        }
        #expect(again.first?.body == revoked.body, "\(again)")
        #expect(try await s.fastAnswers == fastBefore + 3)
    }

    @Test(
        "what the fast path must not answer reaches the route unchanged: a nonce is echoed in a freshly signed answer, malformed DER gets malformedRequest, bad base64 400, an oversized body 413"
    )
    func othersGoToTheRoute() async throws {
        let s = try await Served.make()
        defer { s.stop() }
        // Warm the cache for the agent, so that a fast answer would be possible for its CertID.
        let port = s.serve.http
        _ = try await s.warm()
        let fastBefore = try await s.fastAnswers

        let nonceFile = s.h.directory.file("nonce.req")
        let made = try await ExternalTool("openssl").runAsync(["ocsp", "-issuer", s.issuer, "-cert", s.agent.cert, "-reqout", nonceFile])
        try #require(made.succeeded, "\(made.output)")
        let nonceRequest = [UInt8](try Data(contentsOf: URL(fileURLWithPath: nonceFile)))
        let limit = 8 * 1024
        let noncePost = Served.post(nonceRequest)
        let malformedPost = Served.post([0x30, 0x03, 0x02, 0x01, 0x01])
        let oversizedPost = Served.post([UInt8](repeating: 0x30, count: limit + 1))
        let (nonce, malformed, badBase64, oversized) = try await onOwnThread {
            () -> ([RawHTTPResponse], [RawHTTPResponse], [RawHTTPResponse], (responses: [RawHTTPResponse], closed: Bool)) in
            let connection = try RawTCPConnection(port: port)
            defer { connection.close() }
            _ = connection.send(noncePost)
            let nonce = connection.responses(1).responses
            _ = connection.send(malformedPost)
            let malformed = connection.responses(1).responses
            _ = connection.send("GET /ocsp/%%%not-base64 HTTP/1.1\r\nHost: a\r\n\r\n")
            let bad = connection.responses(1).responses
            let big = try RawTCPConnection(port: port)
            defer { big.close() }
            _ = big.send(oversizedPost)
            return (nonce, malformed, bad, big.responses(1))
        }
        let nonceAnswer = try #require(nonce.first)
        // openssl checks the nonce of its own request against the answer's (RFC 6960 §4.4.1).
        let checked = try await s.verify(nonceAnswer.body, requestFile: nonceFile)
        #expect(checked.contains("Cert Status: good") && checked.contains("OCSP Nonce"), "\(checked)")
        // malformedRequest (RFC 6960 §2.3): OCSPResponse { responseStatus 1 }, unsigned.
        #expect(malformed.first?.status == 200 && malformed.first?.body == [0x30, 0x03, 0x0A, 0x01, 0x01], "\(malformed)")
        #expect(badBase64.first?.status == 400, "\(badBase64)")
        #expect(oversized.responses.first?.status == 413, "\(oversized.responses)")
        let refusal = String(decoding: oversized.responses.first?.body ?? [], as: UTF8.self)
        #expect(refusal.contains("exceeds \(limit) bytes"), "\(oversized)")
        #expect(try await s.fastAnswers == fastBefore, "the fast path answered a request it must leave to the route")
    }

    @Test(
        "HTTP/1.0 and Connection: close are answered from the fast path, then closed; pipelined requests (a signed miss, two cached, /health) are answered in order"
    )
    func connections() async throws {
        let s = try await Served.make()
        defer { s.stop() }
        let nonceFile = s.h.directory.file("nonce.req")
        let made = try await ExternalTool("openssl").runAsync(["ocsp", "-issuer", s.issuer, "-cert", s.agent.cert, "-reqout", nonceFile])
        try #require(made.succeeded, "\(made.output)")
        let nonceRequest = [UInt8](try Data(contentsOf: URL(fileURLWithPath: nonceFile)))
        let port = s.serve.http
        let post = Served.post(s.request)
        let noncePost = Served.post(nonceRequest)
        let closingRequests = [
            ("HTTP/1.0", Served.post(s.request, version: "1.0")), ("Connection: close", Served.post(s.request, headers: "Connection: close\r\n")),
        ]
        let health = Served.health
        let cached = try await s.warm()
        let fastBefore = try await s.fastAnswers

        let closing = try await onOwnThread { () -> [(String, (responses: [RawHTTPResponse], closed: Bool))] in
            var results: [(String, (responses: [RawHTTPResponse], closed: Bool))] = []
            for (name, request) in closingRequests {
                let connection = try RawTCPConnection(port: port)
                defer { connection.close() }
                _ = connection.send(request)
                results.append((name, connection.responses(1, closeWait: 5)))
            }
            return results
        }
        for (name, result) in closing {
            #expect(result.responses.count == 1 && result.responses.first?.body == cached, "\(name): \(result.responses)")
            #expect(result.responses.first?.header("connection") == "close", "\(name): \(result.responses)")
            #expect(result.closed, "\(name): the connection was held open after the answer")
        }
        #expect(try await s.fastAnswers == fastBefore + 2)

        // One write: a nonce request (the route signs it), two cached ones, /health. The cached
        // ones must wait for the signed one: answers come in request order (RFC 9112 §9.3.2).
        let pipelined = try await onOwnThread {
            let connection = try RawTCPConnection(port: port)
            defer { connection.close() }
            _ = connection.send(noncePost + post + post + health)
            return connection.responses(4).responses
        }
        try #require(pipelined.count == 4, "\(pipelined)")
        #expect(try await s.verify(pipelined[0].body, requestFile: nonceFile).contains("Cert Status: good"))
        #expect(pipelined[1].body == cached && pipelined[2].body == cached, "\(pipelined)")
        #expect(String(decoding: pipelined[3].body, as: UTF8.self) == "ok\n", "\(pipelined[3])")
        // Two cached requests, then the same two without the signed one first: both from the fast path.
        let twice = try await onOwnThread {
            let connection = try RawTCPConnection(port: port)
            defer { connection.close() }
            _ = connection.send(post + post + health)
            return connection.responses(3).responses
        }
        #expect(twice.map(\.status) == [200, 200, 200] && twice[0].body == cached && twice[1].body == cached, "\(twice)")
        #expect(String(decoding: twice.last?.body ?? [], as: UTF8.self) == "ok\n")
        // Behind the signed answer the two cached ones went to the route (order first); alone, fast.
        #expect(try await s.fastAnswers == fastBefore + 4)
    }

    @Test(
        "the plain listener's idle timeout still holds with the fast path in front of Hummingbird: a connection kept busy only by fast-path answers stays open past it, and is closed once idle for it"
    )
    func idleTimeout() async throws {
        let s = try await Served.make(limits: "  idle_timeout_seconds: 2\n")
        defer { s.stop() }
        let port = s.serve.http
        let post = Served.post(s.request)
        let cached = try await s.warm()
        let fastBefore = try await s.fastAnswers
        // Eight fast answers half a second apart: 4 s of use on a connection with a 2 s timeout.
        let (answers, idleClose) = try await onOwnThread { () -> ([RawHTTPResponse], (result: RawTCPConnection.ReadResult, seconds: Double)) in
            let connection = try RawTCPConnection(port: port)
            defer { connection.close() }
            var answers: [RawHTTPResponse] = []
            for _ in 0..<8 {
                guard connection.send(post) else { break }
                answers += connection.responses(1).responses
                usleep(500_000)
            }
            let idleSince = Date()
            let result = connection.read(waitingUpTo: 8)
            return (answers, (result, Date().timeIntervalSince(idleSince)))
        }
        #expect(answers.count == 8 && answers.allSatisfy { $0.status == 200 && $0.body == cached }, "\(answers.count) answers: \(answers)")
        #expect(try await s.fastAnswers == fastBefore + 8, "the answers did not all come from the fast path")
        #expect(idleClose.result == .closed, "an idle connection was not closed: \(idleClose.result)")
        #expect(idleClose.seconds > 0.5 && idleClose.seconds < 5, "closed after \(idleClose.seconds) s of idleness, timeout 2 s")
    }

    @Test(
        "a connection the fast path has served so far is still a whole HTTP connection: the client's half-close closes it, a request for the route is answered on it, a malformed request gets 400 and the close, and SIGTERM closes an idle one and exits at once"
    )
    func servedWhole() async throws {
        let s = try await Served.make()
        defer { s.stop() }
        let port = s.serve.http
        let post = Served.post(s.request)
        let health = Served.health
        let cached = try await s.warm()
        let fastBefore = try await s.fastAnswers

        let (halfClosed, routed, malformed) = try await onOwnThread {
            () -> ((responses: [RawHTTPResponse], closed: Bool), [RawHTTPResponse], (responses: [RawHTTPResponse], closed: Bool)) in
            // Nothing is owed after a fast answer: the client's FIN ends the connection.
            let first = try RawTCPConnection(port: port)
            defer { first.close() }
            _ = first.send(post)
            let answers = first.responses(1).responses
            first.shutdownWrite()
            let halfClosed = (answers, first.read(waitingUpTo: 5) == .closed)
            // Fast, then the route, then fast again, one request at a time.
            let second = try RawTCPConnection(port: port)
            defer { second.close() }
            var routed: [RawHTTPResponse] = []
            for request in [post, health, post] {
                _ = second.send(request)
                routed += second.responses(1).responses
            }
            // Fast, then bytes that are no HTTP request.
            let third = try RawTCPConnection(port: port)
            defer { third.close() }
            _ = third.send(post)
            var malformed = third.responses(1).responses
            _ = third.send("NOT HTTP AT ALL\r\n\r\n")
            let refused = third.responses(1, closeWait: 5)
            malformed += refused.responses
            return (halfClosed, routed, (malformed, refused.closed))
        }
        #expect(halfClosed.responses.map(\.body) == [cached], "\(halfClosed.responses)")
        #expect(halfClosed.closed, "the server kept a half-closed connection open")
        #expect(routed.map(\.status) == [200, 200, 200], "\(routed)")
        #expect(routed.count == 3 && routed[0].body == cached && routed[2].body == cached, "\(routed)")
        #expect(String(decoding: routed.count == 3 ? routed[1].body : [], as: UTF8.self) == "ok\n", "\(routed)")
        #expect(malformed.responses.map(\.status) == [200, 400], "\(malformed.responses)")
        #expect(malformed.closed, "a malformed request did not close its connection")
        #expect(try await s.fastAnswers == fastBefore + 4, "the OCSP answers did not all come from the fast path")

        // An idle connection that only ever had fast answers does not hold up a graceful stop.
        let process = s.serve.process
        let idle = try RawTCPConnection(port: port)
        defer { idle.close() }
        _ = idle.send(post)
        let idleAnswer = idle.responses(1).responses
        #expect(idleAnswer.map(\.body) == [cached], "\(idleAnswer)")
        let signalled = Date()
        kill(process.pid, SIGTERM)
        while process.isRunning && Date().timeIntervalSince(signalled) < 20 { usleep(50_000) }
        let seconds = Date().timeIntervalSince(signalled)
        #expect(!process.isRunning && seconds < 5, "serve took \(seconds) s to stop after SIGTERM (still running: \(process.isRunning))")
        #expect(idle.read(waitingUpTo: 5) == .closed, "the idle connection was not closed")
    }
}
