import AgentKit
import ApplianceKit
import Foundation
import NIOConcurrencyHelpers
import TestSupport
import Testing
import X509

@Suite("The agent against a running appliance")
struct AgentEnrollmentTests {
    @Test("enrolment with the right pin and a token writes a 0600 key, a certificate openssl verifies, and status works over mTLS")
    func enrollWithToken() async throws {
        try await RunningAppliance.with { app in
            let out = app.directory.file("agent-out")
            let enrollment = AgentEnrollment(files: AgentFiles(directory: out))
            let pin = SPKIPin(of: app.pki.intermediate)
            let certificate = try await enrollment.enroll(
                server: URL(string: app.httpsURL)!, pin: pin, hostname: "web42", token: "good-token")
            #expect(AgentSubject(certificate: certificate)?.hostname == "web42")
            // agent.key is a link into the current pair directory (docs/agent-files.md): the key itself is 0600 in a 0700 directory.
            let keyFile = URL(fileURLWithPath: "\(out)/agent.key").resolvingSymlinksInPath()
            let attributes = try FileManager.default.attributesOfItem(atPath: keyFile.path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            #expect((try FileManager.default.attributesOfItem(atPath: keyFile.deletingLastPathComponent().path)[.posixPermissions] as? Int) == 0o700)
            let directoryMode = try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int
            #expect(directoryMode == 0o700)
            let verify = try await ExternalTool("openssl").runAsync(["verify", "-CAfile", "\(out)/ca-chain.crt", "\(out)/agent.crt"])
            #expect(verify.succeeded, "\(verify.output)")
            let status = try await enrollment.status()
            #expect(status.contains("\"hostname\":\"web42\""))
        }
    }

    @Test("a pin that matches no certificate in the chain refuses the server before any request is sent")
    func pinMismatch() async throws {
        try await RunningAppliance.with { app in
            let out = app.directory.file("agent-out")
            let wrong = try SPKIPin("sha256/" + Data(repeating: 7, count: 32).base64EncodedString())
            let error = await #expect(throws: AgentError.self) {
                try await AgentEnrollment(files: AgentFiles(directory: out)).enroll(
                    server: URL(string: app.httpsURL)!, pin: wrong, hostname: "web43", token: "good-token")
            }
            #expect(error?.code == .untrustedServer)
            #expect(error?.reason.contains("nothing was sent") == true)
            // The one-time token was not consumed: the appliance never saw the request.
            #expect(app.ca.issuedCount == 0)
            let again = try await AgentEnrollment(files: AgentFiles(directory: out)).enroll(
                server: URL(string: app.httpsURL)!, pin: SPKIPin(of: app.pki.intermediate), hostname: "web43", token: "good-token")
            #expect(AgentSubject(certificate: again)?.hostname == "web43")
        }
    }

    @Test("a server whose certificate does not name the dialled host is refused even with a matching pin")
    func hostnameMismatch() async throws {
        try await RunningAppliance.with { app in
            let url = URL(string: "https://localhost.invalid.test:\(app.httpsPort)")!
            _ = url
            let policy = ServerTrustPolicy(pin: SPKIPin(of: app.pki.root))
            let server = try await app.pki.serverCredentials(commonName: "other")
            let reason = await policy.evaluate(presented: [server.certificate, app.pki.intermediate, app.pki.root], hostname: "db.example")
            #expect(reason?.contains("does not verify for db.example") == true)
            let ok = await policy.evaluate(presented: [server.certificate, app.pki.intermediate, app.pki.root], hostname: "localhost")
            #expect(ok == nil)
        }
    }
}

@Suite("Agent renewal")
struct AgentRenewalTests {
    @Test("renew does nothing while the appliance's status says renewNow false and, when forced, replaces key and certificate over mTLS")
    func renew() async throws {
        try await RunningAppliance.with { app in
            let out = app.directory.file("agent-out")
            let enrollment = AgentEnrollment(files: AgentFiles(directory: out))
            let first = try await enrollment.enroll(
                server: URL(string: app.httpsURL)!, pin: SPKIPin(of: app.pki.intermediate), hostname: "web50", token: "good-token")
            guard case .notDue(let check) = try await enrollment.renew(force: false) else {
                Issue.record("renewed although the appliance said renewNow false")
                return
            }
            #expect(!check.status.renewNow && !check.isDue && check.explanation.hasPrefix("not due"))
            let oldKey = try String(contentsOfFile: "\(out)/agent.key", encoding: .utf8)
            guard case .renewed(let renewed) = try await enrollment.renew(force: true) else {
                Issue.record("a forced renewal did not renew")
                return
            }
            #expect(renewed.serialNumber != first.serialNumber)
            #expect(renewed.subject == first.subject)
            #expect(try String(contentsOfFile: "\(out)/agent.key", encoding: .utf8) != oldKey)
            let keyFile = URL(fileURLWithPath: "\(out)/agent.key").resolvingSymlinksInPath().path
            let mode = try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            // The previous pair is gone once the new one was proven over mTLS; no key is left pending.
            #expect(!FileManager.default.fileExists(atPath: "\(out)/previous"))
            #expect(!FileManager.default.fileExists(atPath: "\(out)/pending.key"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(out)/pairs").count == 1)
            #expect(try await enrollment.status().contains("web50"))
        }
    }
}

@Suite("Agent enrolment waiting for approval")
struct AgentPendingTests {
    @Test("without a token the agent waits through 202 + Retry-After and finishes once an administrator approves")
    func waitsForApproval() async throws {
        try await RunningAppliance.with { app in
            let out = app.directory.file("agent-out")
            let pin = SPKIPin(of: app.pki.intermediate)
            let enrolling = Task {
                try await AgentEnrollment(files: AgentFiles(directory: out)).enroll(
                    server: URL(string: app.httpsURL)!, pin: pin, hostname: "web60", token: nil)
            }
            var pendingID: String?
            for _ in 0..<200 {
                pendingID = app.ca.state.withLockedValue { $0.pending.keys.first }
                if pendingID != nil { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            let id = try #require(pendingID)
            #expect(app.ca.issuedCount == 0)
            app.ca.approve(uuid: id)
            let certificate = try await enrolling.value
            #expect(AgentSubject(certificate: certificate)?.uuid == id)
        }
    }

    @Test("a bounded wait gives up with stillPending instead of polling forever")
    func boundedWait() async throws {
        try await RunningAppliance.with { app in
            var enrollment = AgentEnrollment(files: AgentFiles(directory: app.directory.file("agent-out")))
            enrollment.maximumPendingWait = .seconds(2)
            let error = await #expect(throws: AgentError.self) {
                try await enrollment.enroll(server: URL(string: app.httpsURL)!, pin: SPKIPin(of: app.pki.intermediate), hostname: "web61", token: nil)
            }
            #expect(error?.code == .stillPending)
            #expect(error?.reason.contains("run the same agent enroll command again") == true, "\(String(describing: error))")
        }
    }

    @Test("a rerun after giving up resumes with the saved key and agent ID; another hostname in the same directory is refused")
    func resumesSavedIdentity() async throws {
        try await RunningAppliance.with { app in
            let out = app.directory.file("agent-out")
            var enrollment = AgentEnrollment(files: AgentFiles(directory: out))
            enrollment.maximumPendingWait = .seconds(0)
            let server = URL(string: app.httpsURL)!
            let pin = SPKIPin(of: app.pki.intermediate)
            let pending = await #expect(throws: AgentError.self) {
                try await enrollment.enroll(server: server, pin: pin, hostname: "web62", token: nil)
            }
            #expect(
                pending?.code == .stillPending && pending?.reason.contains("run the same agent enroll command again") == true,
                "\(String(describing: pending))")
            let pendingID = try #require(app.ca.state.withLockedValue { $0.pending.keys.first })
            let savedKey = try String(contentsOfFile: "\(out)/pending.key", encoding: .utf8)

            let other = await #expect(throws: AgentError.self) {
                try await enrollment.enroll(server: server, pin: pin, hostname: "web63", token: nil)
            }
            #expect(other?.code == .invalidInput)
            #expect(other?.reason.contains("rerun with --hostname web62 to resume it") == true, "\(String(describing: other))")

            app.ca.approve(uuid: pendingID)
            let lines = NIOLockedValueBox<[String]>([])
            let certificate = try await enrollment.enroll(server: server, pin: pin, hostname: "web62", token: nil) { line in
                lines.withLockedValue { $0.append(line) }
            }
            #expect(AgentSubject(certificate: certificate)?.uuid == pendingID, "the agent ID of the first run")
            #expect(try String(contentsOfFile: "\(out)/agent.key", encoding: .utf8) == savedKey)
            #expect(lines.withLockedValue { $0 }.contains { $0.hasPrefix("resuming the enrolment of web62 as agent \(pendingID)") })
            #expect(!FileManager.default.fileExists(atPath: "\(out)/enrollment-pending.json"))
        }
    }
}
