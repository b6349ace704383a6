import Foundation
import TestSupport
import Testing

/// The README's first command end to end (issues 4 and 6): `appliance demo` builds the PKI with
/// the real binaries and leaves a serving appliance; then curl and openssl alone — no code of
/// ours on the client side — enrol over EST, use mTLS, and see revocation through OCSP and the CRL.
@Suite("appliance demo, checked with curl and openssl", .serialized)
struct DemoEndToEndTests {
    @Test("the demo enrols, renews and revokes agents, and independent clients see the result")
    func demo() throws {
        let work = try TemporaryDirectory("demo")
        defer { work.remove() }
        // The demo's appliance drops to `nobody` when run as root: it must be able to reach the state.
        chmod(work.path, 0o755)
        let dir = work.file("demo")
        let demo = try ProductBinary.tool("appliance").start(["demo", "--dir", dir])
        defer {
            // SIGINT makes the demo stop its appliance; anything still serving this state is ended too.
            demo.stop()
            Self.killServers(stateDirectory: "\(dir)/state")
        }
        let ready = demo.waitForOutput("press Ctrl-C to stop", timeout: 240)
        try #require(ready, "demo did not finish (wait status \(demo.exitStatus.map(String.init) ?? "running")):\n\(demo.output)")
        let output = demo.output
        let https = try #require(output.firstMatch(of: /https:\/\/127\.0\.0\.1:(\d+)/)?.1).description
        let http = try #require(output.firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)\/metrics/)?.1).description
        let curl = try ExternalTool("curl")
        let openssl = try ExternalTool("openssl")
        let chain = "\(dir)/state/ca/ca-chain.crt"

        // The demo names the web console, the administrator's PKCS#12 and its 0600 password file;
        // the administrator certificate opens the console.
        let console = try #require(output.firstMatch(of: /console: +(https:\/\/127\.0\.0\.1:\d+\/)/)?.1).description
        #expect(output.contains("\(dir)/admins/demo/admin-demo.p12") && output.contains("\(dir)/admins/demo/admin-demo.p12.password"))
        var passwordInfo = stat()
        #expect(stat("\(dir)/admins/demo/admin-demo.p12.password", &passwordInfo) == 0 && passwordInfo.st_mode & 0o777 == 0o600)
        let overview = try curl.run([
            "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", chain, "--cert", "\(dir)/admins/demo/admin-demo.crt", "--key",
            "\(dir)/admins/demo/admin-demo.key", console,
        ])
        #expect(overview.stdout == "200", "console: \(overview.output)")

        // The demo's agents: db-01 (token, renewed) works over mTLS; web-01 (revoked) does not.
        let status = try curl.run([
            "-sS", "--cacert", chain, "--cert", "\(dir)/agents/db-01/agent.crt", "--key", "\(dir)/agents/db-01/agent.key",
            "https://127.0.0.1:\(https)/api/v1/agent/status",
        ])
        #expect(status.succeeded && status.stdout.contains("\"hostname\":\"db-01\""), "\(status.output)")
        let revoked = try curl.run([
            "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", chain, "--cert", "\(dir)/agents/web-01/agent.crt",
            "--key", "\(dir)/agents/web-01/agent.key", "https://127.0.0.1:\(https)/api/v1/agent/status",
        ])
        #expect(!revoked.succeeded || revoked.stdout == "403", "a revoked certificate must be refused: \(revoked.output)")
        let noCert = try curl.run([
            "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", chain, "https://127.0.0.1:\(https)/api/v1/agent/status",
        ])
        #expect(noCert.stdout == "401", "\(noCert.output)")
        #expect(
            try openssl.run([
                "verify", "-CAfile", "\(dir)/state/ca/root-ca.crt", "-untrusted", "\(dir)/state/ca/intermediate-ca.crt",
                "\(dir)/agents/db-01/agent.crt",
            ]).succeeded)

        // OCSP through openssl: revoked for web-01, good for db-01, within a second of the demo's revoke.
        let ocspRevoked = try openssl.run([
            "ocsp", "-issuer", "\(dir)/state/ca/intermediate-ca.crt", "-cert", "\(dir)/agents/web-01/agent.crt",
            "-url", "http://127.0.0.1:\(http)/ocsp", "-CAfile", chain,
        ])
        #expect(ocspRevoked.output.contains("Response verify OK") && ocspRevoked.stdout.contains(": revoked"), "\(ocspRevoked.output)")
        let ocspGood = try openssl.run([
            "ocsp", "-issuer", "\(dir)/state/ca/intermediate-ca.crt", "-cert", "\(dir)/agents/db-01/agent.crt",
            "-url", "http://127.0.0.1:\(http)/ocsp", "-CAfile", chain,
        ])
        #expect(ocspGood.stdout.contains(": good"), "\(ocspGood.output)")

        // The CRL served over HTTP lists web-01's serial, and openssl verify -crl_check rejects it.
        let serial = try openssl.run(["x509", "-in", "\(dir)/agents/web-01/agent.crt", "-noout", "-serial"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
        var crlText = ""
        for _ in 0..<30 {
            _ = try curl.run(["-sS", "-o", work.file("intermediate.crl"), "http://127.0.0.1:\(http)/crl/intermediate.crl"])
            crlText = try openssl.run(["crl", "-inform", "DER", "-in", work.file("intermediate.crl"), "-noout", "-text"]).stdout
            if crlText.contains(serial) { break }
            usleep(200_000)
        }
        #expect(crlText.contains("Serial Number: \(serial)"), "CRL:\n\(crlText)")
        _ = try openssl.run(["crl", "-inform", "DER", "-in", work.file("intermediate.crl"), "-out", work.file("crl.pem")])
        let crlCheck = try openssl.run([
            "verify", "-crl_check", "-CRLfile", work.file("crl.pem"), "-CAfile", "\(dir)/state/ca/root-ca.crt",
            "-untrusted", "\(dir)/state/ca/intermediate-ca.crt", "\(dir)/agents/web-01/agent.crt",
        ])
        #expect(crlCheck.output.contains("certificate revoked"), "\(crlCheck.output)")

        // EST with curl + openssl only: a one-time token, a CSR from openssl, the PKCS#7 reply.
        let appliance = try ProductBinary.tool("appliance")
        let tokenOutput = try appliance.run(["agents", "token", "--hostname", "curl-01", "--state-dir", "\(dir)/state"])
        let token = try #require(tokenOutput.stdout.split(whereSeparator: \.isWhitespace).last).description
        let uuid = UUID().uuidString.lowercased()
        _ = try openssl.run([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", work.file("curl.key"),
            "-subj", "/CN=agent-curl-01-\(uuid)", "-outform", "DER", "-out", work.file("curl.csr"),
        ])
        let csrBase64 = try openssl.run(["base64", "-in", work.file("curl.csr")]).stdout
        try csrBase64.write(toFile: work.file("curl.b64"), atomically: true, encoding: .utf8)
        let enrolled = try curl.run([
            "-sS", "-w", "\n%{http_code}", "--cacert", chain, "-H", "Authorization: Bearer \(token)",
            "-H", "Content-Type: application/pkcs10", "--data-binary", "@\(work.file("curl.b64"))",
            "https://127.0.0.1:\(https)/.well-known/est/simpleenroll",
        ])
        #expect(enrolled.stdout.hasSuffix("200"), "\(enrolled.output)")
        let body = enrolled.stdout.components(separatedBy: "\n").dropLast().joined(separator: "\n")
        try body.write(toFile: work.file("reply.b64"), atomically: true, encoding: .utf8)
        _ = try openssl.run(["base64", "-d", "-in", work.file("reply.b64"), "-out", work.file("reply.p7")])
        let certs = try openssl.run(["pkcs7", "-inform", "DER", "-in", work.file("reply.p7"), "-print_certs", "-out", work.file("curl.crt")])
        #expect(certs.succeeded, "\(certs.output)")
        let verified = try openssl.run([
            "verify", "-CAfile", "\(dir)/state/ca/root-ca.crt", "-untrusted", "\(dir)/state/ca/intermediate-ca.crt", work.file("curl.crt"),
        ])
        #expect(verified.succeeded, "\(verified.output)")
        // A replayed token with another key is refused (the same request again would only get the
        // same certificate back, for a short window: docs/reservations.md).
        _ = try openssl.run([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", work.file("replay.key"),
            "-subj", "/CN=agent-curl-01-\(uuid)", "-outform", "DER", "-out", work.file("replay.csr"),
        ])
        try openssl.run(["base64", "-in", work.file("replay.csr")]).stdout.write(toFile: work.file("replay.b64"), atomically: true, encoding: .utf8)
        // Same headers as the first request: only the spent token may be the reason for the refusal.
        let replay = try curl.run([
            "-sS", "-w", "\n%{http_code}", "--cacert", chain, "-H", "Authorization: Bearer \(token)",
            "-H", "Content-Type: application/pkcs10", "--data-binary", "@\(work.file("replay.b64"))",
            "https://127.0.0.1:\(https)/.well-known/est/simpleenroll",
        ])
        #expect(
            replay.stdout.hasSuffix("\n403") && replay.stdout.contains("enrolment token refused: enrolment token was already used"),
            "a replayed token must be refused because it is spent: \(replay.output)")

        // The appliance runs as an unprivileged, undumpable process (issue 7).
        let statusFiles = try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap { Int32($0) }
        let serve = statusFiles.first { pid in
            ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").contains("\(dir)/state")
                && ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").contains("serve")
        }
        let pid = try #require(serve, "no appliance serve process found")
        let procStatus = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let uidLine = procStatus.split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? ""
        #expect(!uidLine.split(separator: "\t").dropFirst().contains("0"), "serve runs as root: \(uidLine)")
        // A non-dumpable process's /proc files belong to root even though the process does not.
        var info = stat()
        #expect(stat("/proc/\(pid)/environ", &info) == 0 && info.st_uid == 0, "serve is dumpable")

        // EST without a token, curl only: 202 + Retry-After while pending, approval by the
        // administrator, then the same request returns the certificate (RFC 7030 §4.2.3).
        let pendingUUID = UUID().uuidString.lowercased()
        _ = try openssl.run([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", work.file("pending.key"),
            "-subj", "/CN=agent-pending-01-\(pendingUUID)", "-outform", "DER", "-out", work.file("pending.csr"),
        ])
        try openssl.run(["base64", "-in", work.file("pending.csr")]).stdout.write(toFile: work.file("pending.b64"), atomically: true, encoding: .utf8)
        let estPending = [
            "-sS", "-i", "--cacert", chain, "-H", "Content-Type: application/pkcs10", "--data-binary", "@\(work.file("pending.b64"))",
            "https://127.0.0.1:\(https)/.well-known/est/simpleenroll",
        ]
        let first = try curl.run(estPending)
        #expect(first.stdout.hasPrefix("HTTP/1.1 202") && first.stdout.lowercased().contains("retry-after:"), "\(first.output)")
        let pendingList = try appliance.run(["agents", "list", "--state-dir", "\(dir)/state"]).stdout
        let registration = try #require(
            pendingList.split(separator: "\n").first { $0.contains("pending-01") && $0.contains("pending") }?
                .split(separator: " ").first.map(String.init), "no pending registration listed:\n\(pendingList)")
        #expect(try appliance.run(["agents", "approve", registration, "--state-dir", "\(dir)/state"]).succeeded)
        let second = try curl.run(estPending)
        #expect(second.stdout.hasPrefix("HTTP/1.1 200"), "\(second.output)")

        // The audit journal records approvals, issuance and revocation with the acting identity,
        // and its hash chain verifies.
        var journal = ""
        for _ in 0..<30 {
            journal = (try? String(contentsOfFile: "\(dir)/state/audit/audit.jsonl", encoding: .utf8)) ?? ""
            if journal.contains("revoke") { break }
            usleep(200_000)
        }
        #expect(journal.contains("admin:uid=0") && journal.contains("approve") && journal.contains("revoke"), "\(journal.prefix(2000))")
        let auditCheck = try appliance.run(["audit", "verify", "--state-dir", "\(dir)/state"])
        #expect(auditCheck.succeeded && auditCheck.stdout.contains("audit journal OK"), "\(auditCheck.output)")

        // kill -9 during a burst of enrolments: after a restart, every certificate a client
        // received is in the database as issued (intent is recorded before signing, and the
        // issuance is committed before the response is sent).
        let burst = try Self.killDuringBurst(dir: dir, work: work, https: https, chain: chain)

        // No secret of the whole run — token PIN, key passphrase, every one-time enrolment token —
        // appears in anything printed (the demo, a serve log) or in any file of the state
        // directory (audit journal, database, CRLs, logs) (issue 7).
        var secrets: [String: String] = ["enrolment token for curl-01": token]
        for secret in ["secrets/token.pin", "secrets/intermediate.passphrase", "secrets/db-01.token", "admins/demo/admin-demo.p12.password"] {
            secrets[secret] = try String(contentsOfFile: "\(dir)/\(secret)", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        for (index, burstToken) in burst.tokens.enumerated() { secrets["enrolment token for burst-\(index)"] = burstToken }
        let leaks = SecretLeakScan.leaks(
            of: secrets,
            inOutputs: ["demo output": demo.output, "restarted serve output": burst.serveOutput],
            filesUnder: ["\(dir)/state"])
        #expect(leaks.isEmpty, "secrets leaked: \(leaks)")
        #expect(
            SecretLeakScan.scannedFiles(under: "\(dir)/state").contains { $0.hasSuffix("audit/audit.jsonl") }, "the audit journal was not scanned")
    }

    /// Ends any `appliance serve` of `stateDirectory` left running (it runs as another user, so it is
    /// not our child once the demo is gone).
    static func killServers(stateDirectory: String) {
        ProcessReaper.terminate(commandLineContaining: "serve", stateDirectory, grace: .zero)
    }

    /// Returns the enrolment tokens it used and what the restarted `serve` printed.
    static func killDuringBurst(dir: String, work: TemporaryDirectory, https: String, chain: String) throws -> (tokens: [String], serveOutput: String)
    {
        let appliance = try ProductBinary.tool("appliance")
        let openssl = try ExternalTool("openssl")
        let curl = try ExternalTool("curl")
        let count = 24
        var requests: [[String]] = []
        var bodies: [String] = []
        var tokens: [String] = []
        for index in 0..<count {
            let token =
                try appliance.run(["agents", "token", "--hostname", "burst-\(index)", "--state-dir", "\(dir)/state"])
                .stdout.split(whereSeparator: \.isWhitespace).last.map(String.init) ?? ""
            tokens.append(token)
            let csr = work.file("burst-\(index).csr")
            _ = try openssl.run([
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", work.file("burst-\(index).key"),
                "-subj", "/CN=agent-burst-\(index)-\(UUID().uuidString.lowercased())", "-outform", "DER", "-out", csr,
            ])
            try openssl.run(["base64", "-in", csr]).stdout.write(toFile: csr + ".b64", atomically: true, encoding: .utf8)
            bodies.append(work.file("burst-\(index).reply"))
            requests.append([
                "-sS", "--max-time", "20", "-o", bodies[index], "-w", "%{http_code}", "--cacert", chain,
                "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/pkcs10", "--data-binary", "@\(csr).b64",
                "https://127.0.0.1:\(https)/.well-known/est/simpleenroll",
            ])
        }
        // First half: wait until one has its certificate; second half: start them and kill -9 the
        // appliance at once, so the kill lands while enrolments are in flight.
        var clients = try requests[..<(count / 2)].map { try curl.start($0) }
        for _ in 0..<200 where !clients.contains(where: { $0.output.hasSuffix("200") }) { usleep(25_000) }
        clients += try requests[(count / 2)...].map { try curl.start($0) }
        let serve = try #require(servePID(stateDirectory: "\(dir)/state"))
        kill(serve, SIGKILL)
        for client in clients { _ = client.waitForOutput("__never__", timeout: 25) }
        let succeeded = (0..<count).filter { clients[$0].output.hasSuffix("200") }
        for client in clients { client.stop() }
        // Some enrolments completed before the kill (else this checks nothing); the rest failed.
        #expect(!succeeded.isEmpty, "no enrolment completed before the kill")
        print("kill -9 burst: \(succeeded.count) of \(count) enrolments answered 200 before the appliance was killed")

        // Restart on the same state and check every certificate a client got.
        let restarted = try appliance.start([
            "serve", "--state-dir", "\(dir)/state", "--config", "\(dir)/appliance.yaml",
            "--passphrase-file", "\(dir)/secrets/intermediate.passphrase",
        ])
        defer {
            restarted.stop(signal: SIGTERM)
            killServers(stateDirectory: "\(dir)/state")
        }
        // The demo's configuration lets the OS choose the ports: the restarted server reports its own.
        let ports = try #require(restarted.listeningPorts(), "the appliance did not come back after kill -9: \(restarted.output)")
        var listening = false
        for _ in 0..<100 {
            if (try? curl.run(["-sS", "-o", "/dev/null", "--cacert", chain, "https://127.0.0.1:\(ports.https)/.well-known/est/cacerts"]))?.succeeded
                == true
            {
                listening = true
                break
            }
            usleep(200_000)
        }
        try #require(listening, "the appliance did not come back after kill -9: \(restarted.output)")
        for index in succeeded {
            _ = try openssl.run(["base64", "-d", "-in", bodies[index], "-out", bodies[index] + ".p7"])
            let serial = try openssl.run(["pkcs7", "-inform", "DER", "-in", bodies[index] + ".p7", "-print_certs", "-out", bodies[index] + ".pem"])
            #expect(serial.succeeded, "reply \(index) is not a certificate")
            let hex = try openssl.run(["x509", "-in", bodies[index] + ".pem", "-noout", "-serial"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "").lowercased()
            let shown = try appliance.run(["certs", "show", hex, "--state-dir", "\(dir)/state"])
            #expect(
                shown.succeeded && shown.stdout.contains("issued"),
                "certificate \(hex) returned to a client is not issued in the database: \(shown.output)")
        }
        return (tokens, restarted.output)
    }

    static func servePID(stateDirectory: String) -> Int32? {
        ProcessReaper.matching("serve", stateDirectory).first
    }
}
