import ApplianceKit
import Foundation
import TestSupport
import Testing
import X509

/// Per-source and per-agent rate limits on EST enrolment and renewal, over real HTTPS with curl:
/// a looping client gets 429 + Retry-After while another source or agent is still served.
@Suite("Rate limits on enrolment and renewal")
struct RateLimitTests {
    @Test("a looping source gets 429 with Retry-After while another source address still enrols")
    func perSource() async throws {
        try await RunningAppliance.with(configure: {
            $0.limits.enrollmentsPerMinutePerSource = 3
            $0.limits.enrollmentsPerMinutePerAgent = 0
        }) { app in
            let url = "\(app.httpsURL)/.well-known/est/simpleenroll"
            // Three requests use up 127.0.0.1's burst (they need not be valid: the source limit
            // is checked before the body is read).
            for attempt in 1...3 {
                let answer = try await Curl.run([
                    "--cacert", app.chainFile, "-H", "Content-Type: application/pkcs10", "--data-binary", "not a csr", url,
                ])
                #expect(answer.status == 400, "attempt \(attempt): \(answer.raw.output)")
            }
            let limited = try await enrol(app, name: "looping")
            #expect(limited.status == 429, "\(limited.raw.output)")
            // 3 per minute refill one every 20 s: the next token is at most 20 s away.
            let retryAfter = try #require(limited.headers["retry-after"].flatMap { Int($0) }, "no Retry-After: \(limited.headers)")
            #expect((1...20).contains(retryAfter), "Retry-After \(retryAfter)")
            #expect(app.ca.issuedCount == 0)
            // Another source address (127.0.0.2 reaches the 127.0.0.1 listener over lo) enrols.
            let other = try await enrol(app, name: "elsewhere", extra: ["--interface", "127.0.0.2"])
            #expect(other.status == 200, "\(other.raw.output)")
            #expect(app.ca.issuedCount == 1)
            let metrics = try await Curl.run(["\(app.httpURL)/metrics"])
            #expect(metrics.body.contains("rootkeeper_requests_rate_limited_total{limit=\"source\"} 1"), "\(metrics.body)")
        }
    }

    @Test("a looping agent's renewals get 429 with Retry-After while another agent renews")
    func renewalsPerAgent() async throws {
        try await RunningAppliance.with(configure: {
            $0.limits.renewalsPerHourPerAgent = 2
            $0.limits.enrollmentsPerMinutePerSource = 0
        }) { app in
            let url = "\(app.httpsURL)/.well-known/est/simplereenroll"
            func renew(_ hostname: String, _ files: (cert: String, key: String, certificate: Certificate)) async throws -> CurlResult {
                let identity = try #require(AgentSubject(certificate: files.certificate))
                let csr = try await opensslCSR(in: app.directory, name: "\(hostname)-\(UUID().uuidString)", commonName: identity.commonName)
                return try await Curl.run([
                    "--cacert", app.chainFile, "--cert", files.cert, "--key", files.key, "-H", "Content-Type: application/pkcs10", "--data-binary",
                    "@\(csr.b64)", url,
                ])
            }
            let looping = try await app.agentFiles(hostname: "loop01")
            let calm = try await app.agentFiles(hostname: "calm01")
            #expect(try await renew("loop01", looping).status == 200)
            #expect(try await renew("loop01", looping).status == 200)
            let limited = try await renew("loop01", looping)
            #expect(limited.status == 429, "\(limited.raw.output)")
            // 2 per hour: one token every 30 minutes.
            let retryAfter = try #require(limited.headers["retry-after"].flatMap { Int($0) })
            #expect((1...1800).contains(retryAfter), "Retry-After \(retryAfter)")
            let other = try await renew("calm01", calm)
            #expect(other.status == 200, "another agent must still renew: \(other.raw.output)")
        }
    }

    @Test("an agent polling a pending enrolment faster than allowed gets 429 while another agent enrols")
    func enrollmentsPerAgent() async throws {
        try await RunningAppliance.with(configure: {
            $0.limits.enrollmentsPerMinutePerAgent = 2
            $0.limits.enrollmentsPerMinutePerSource = 0
        }) { app in
            let url = "\(app.httpsURL)/.well-known/est/simpleenroll"
            let csr = try await opensslCSR(in: app.directory, name: "poller", commonName: "agent-poller-\(UUID().uuidString.lowercased())")
            let poll = ["--cacert", app.chainFile, "-H", "Content-Type: application/pkcs10", "--data-binary", "@\(csr.b64)", url]
            #expect(try await Curl.run(poll).status == 202)
            #expect(try await Curl.run(poll).status == 202)
            let limited = try await Curl.run(poll)
            #expect(limited.status == 429, "\(limited.raw.output)")
            #expect(limited.headers["retry-after"].flatMap { Int($0) }.map { (1...30).contains($0) } == true, "\(limited.headers)")
            let other = try await enrol(app, name: "newcomer")
            #expect(other.status == 200, "\(other.raw.output)")
        }
    }

    @Test("the rate-limit keys load from YAML and the environment, 0 turns one off, and a negative value names its key")
    func configuration() throws {
        let yaml = """
            limits:
              enrollments_per_minute_per_source: 30
              enrollments_per_minute_per_agent: 0
              renewals_per_hour_per_agent: 4
              max_ocsp_request_bytes: 2048
            """
        let loaded = try ApplianceConfiguration.load(yaml: yaml)
            .applyingEnvironment(["ROOTKEEPER_LIMITS_RENEWALS_PER_HOUR_PER_AGENT": "5"])
        #expect(loaded.limits.enrollmentsPerMinutePerSource == 30)
        #expect(loaded.limits.enrollmentsPerMinutePerAgent == 0)
        #expect(loaded.limits.renewalsPerHourPerAgent == 5)
        #expect(loaded.limits.maxOCSPRequestBytes == 2048)
        var configuration = loaded
        configuration.stateDirectory = "/var/lib/rootkeeper"
        try configuration.validate()
        configuration.limits.enrollmentsPerMinutePerSource = -1
        let negative = #expect(throws: ApplianceError.self) { try configuration.validate() }
        #expect(
            negative?.code == .invalidConfiguration && negative?.reason.hasPrefix("limits.enrollments_per_minute_per_source:") == true,
            "\(String(describing: negative))")
        do {
            try configuration.validate()
        } catch let error as ApplianceError {
            #expect(error.reason.hasPrefix("limits.enrollments_per_minute_per_source:"), "\(error)")
        }
        configuration.limits.enrollmentsPerMinutePerSource = 10
        configuration.limits.maxOCSPRequestBytes = 10 * 1024 * 1024
        let oversized = #expect(throws: ApplianceError.self) { try configuration.validate() }
        #expect(
            oversized?.code == .invalidConfiguration && oversized?.reason.hasPrefix("limits.max_ocsp_request_bytes:") == true,
            "\(String(describing: oversized))")
    }
}
