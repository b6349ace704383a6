import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing

/// Issue 12 part 3, "renewal can be retried": the real `agent renew` against the real
/// `appliance serve`, with the answer lost on the wire and the agent killed between its writes.
@Suite("Renewal can be retried (real serve and agent)", .serialized)
struct RenewalRetryTests {
    /// An agent directory as a pre-pair `agent enroll` left it (plain agent.key / agent.crt), for an
    /// agent enrolled with curl; its state names `server`.
    static func agentDirectory(_ appliance: ApplianceProcess, hostname: String, server: String) throws -> (dir: String, uuid: String) {
        let request = try OpenSSLAgentRequest(hostname: hostname, in: appliance.directory)
        let enrolled = try request.post(to: appliance, token: try appliance.requireToken(hostname: hostname), name: hostname)
        let certificate = try #require(enrolled.certificate, "enrolment failed: \(enrolled.code) \(enrolled.body)")
        let dir = appliance.directory.file("agent-\(hostname)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try FileManager.default.copyItem(atPath: request.key, toPath: "\(dir)/agent.key")
        chmod("\(dir)/agent.key", 0o600)
        try FileManager.default.copyItem(atPath: certificate, toPath: "\(dir)/agent.crt")
        try FileManager.default.copyItem(atPath: appliance.chain, toPath: "\(dir)/ca-chain.crt")
        let pin = try ExternalTool("sh").run([
            "-c",
            "openssl x509 -in \"$1\" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | openssl base64 -A",
            "sh", appliance.state.path("ca", "intermediate-ca.crt"),
        ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let state: [String: String] = ["server": server, "pin": "sha256/\(pin)", "hostname": hostname, "agentID": request.uuid]
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: "\(dir)/agent-state.json"))
        chmod("\(dir)/agent-state.json", 0o600)
        return (dir, request.uuid)
    }

    static func renew(_ dir: String, environment: [String: String] = [:]) throws -> ExternalTool.Result {
        try ProductBinary.tool("agent").run(["renew", "--out", dir, "--force"], environment: environment, timeout: 120)
    }

    /// Serials compared without leading zeros (openssl and the store spell them differently).
    static func same(_ a: String, _ b: String) -> Bool {
        func trimmed(_ s: String) -> Substring { s.lowercased().drop { $0 == "0" } }
        return trimmed(a) == trimmed(b)
    }

    @Test("the answer to a renewal is lost after the appliance committed it: the agent's retry gets the same successor")
    func responseLost() async throws {
        let harness = try await SetupHarness.make()
        defer { harness.remove() }
        try await SoftHSMToken.withExclusiveToken(label: "appliance-ca") { token in
            let appliance = try await ApplianceProcess.start(harness: harness, token: token)
            defer { appliance.stop() }
            let proxy = try LossyTCPProxy(upstreamPort: appliance.https)
            defer { proxy.stop() }
            let agent = try Self.agentDirectory(appliance, hostname: "lossy", server: "https://127.0.0.1:\(proxy.port)")
            let old = try opensslSerial("\(agent.dir)/agent.crt")
            let successorIssued: @Sendable () -> Bool = {
                (try? appliance.sqlValue(
                    "SELECT COUNT(*) FROM certificates WHERE agent_id = '\(agent.uuid)' AND status = 'issued' AND predecessor_serial IS NOT NULL"))
                    == "1"
            }
            proxy.dropResponses(when: successorIssued)
            let lost = try Self.renew(agent.dir)
            #expect(!lost.succeeded, "the first renewal's answer was dropped: \(lost.output)")
            #expect(proxy.dropped >= 1)
            let successor = try appliance.sqlValue(
                "SELECT serial FROM certificates WHERE agent_id = '\(agent.uuid)' AND predecessor_serial IS NOT NULL AND status = 'issued'")
            #expect(!successor.isEmpty, "the appliance committed the successor before the answer was lost")
            #expect(Self.same(try opensslSerial("\(agent.dir)/agent.crt"), old), "nothing was installed without an answer")
            #expect(try opensslPairMatches(key: "\(agent.dir)/agent.key", certificate: "\(agent.dir)/agent.crt"))

            proxy.disarm()
            let retry = try Self.renew(agent.dir)
            #expect(retry.succeeded, "the retry must succeed: \(retry.output)")
            let installed = try opensslSerial("\(agent.dir)/agent.crt")
            #expect(Self.same(installed, successor), "the retry must get the successor already issued (\(successor)), got \(installed)")
            #expect(try opensslPairMatches(key: "\(agent.dir)/agent.key", certificate: "\(agent.dir)/agent.crt"))
            #expect(
                try appliance.sqlValue("SELECT COUNT(*) FROM certificates WHERE agent_id = '\(agent.uuid)'") == "2", "no second successor was issued")
            #expect(try appliance.sqlValue("SELECT COUNT(*) FROM audit_events WHERE action = 'certificate.redelivered'") == "1")
            // Proven over mTLS: the previous pair and the pending key are gone.
            #expect(!FileManager.default.fileExists(atPath: "\(agent.dir)/previous"))
            #expect(!FileManager.default.fileExists(atPath: "\(agent.dir)/pending.key"))
        }
    }

    @Test(
        "the agent killed (SIGKILL) at each of its renames during a renewal always leaves a matching key and certificate, and the next run finishes")
    func killedBetweenWrites() async throws {
        let harness = try await SetupHarness.make()
        defer { harness.remove() }
        try await SoftHSMToken.withExclusiveToken(label: "appliance-ca") { token in
            let appliance = try await ApplianceProcess.start(harness: harness, token: token)
            defer { appliance.stop() }
            let agent = try Self.agentDirectory(appliance, hostname: "killed", server: appliance.httpsURL)
            let hold = try RenameHold(in: appliance.directory)
            // pending.key: before the request; agent.key / agent.crt: writing the new pair; current: the swap.
            for step in ["pending.key", "agent.key", "agent.crt", "current"] {
                hold.reset()
                let before = try opensslSerial("\(agent.dir)/agent.crt")
                let running = try ProductBinary.tool("agent").start(
                    ["renew", "--out", agent.dir, "--force"],
                    environment: hold.environment(holdAt: step))
                for _ in 0..<300 where !hold.reached && running.isRunning { usleep(50_000) }
                try #require(hold.reached, "the agent never reached its rename onto \(step): \(running.output)")
                running.stop(signal: SIGKILL, timeout: 10)
                #expect(
                    try opensslPairMatches(key: "\(agent.dir)/agent.key", certificate: "\(agent.dir)/agent.crt"),
                    "killed at \(step): agent.key and agent.crt do not match")
                #expect(Self.same(try opensslSerial("\(agent.dir)/agent.crt"), before), "killed at \(step): the old pair is still current")

                let next = try Self.renew(agent.dir)
                #expect(next.succeeded, "after a kill at \(step) the next renewal must finish: \(next.output)")
                #expect(try opensslPairMatches(key: "\(agent.dir)/agent.key", certificate: "\(agent.dir)/agent.crt"))
                let installed = try opensslSerial("\(agent.dir)/agent.crt")
                #expect(!Self.same(installed, before))
                #expect(
                    try appliance.sqlValue("SELECT status FROM certificates WHERE serial LIKE '%\(installed.lowercased().drop { $0 == "0" })'")
                        == "issued"
                )
            }
            // A kill after the appliance issued (every step but the first) was recovered by re-delivery, not a second issuance.
            #expect(try appliance.sqlValue("SELECT COUNT(*) FROM audit_events WHERE action = 'certificate.redelivered'") == "3")
        }
    }
}
