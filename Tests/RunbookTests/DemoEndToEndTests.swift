import Foundation
import Testing
import TestSupport

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
        let curl = try ExternalTool("curl"), openssl = try ExternalTool("openssl")
        let chain = "\(dir)/state/ca/ca-chain.crt"

        // The demo's agents: db-01 (token, renewed) works over mTLS; web-01 (revoked) does not.
        let status = try curl.run(["-sS", "--cacert", chain, "--cert", "\(dir)/agents/db-01/agent.crt", "--key", "\(dir)/agents/db-01/agent.key",
                                   "https://127.0.0.1:\(https)/api/v1/agent/status"])
        #expect(status.succeeded && status.stdout.contains("\"hostname\":\"db-01\""), "\(status.output)")
        let revoked = try curl.run(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", chain, "--cert", "\(dir)/agents/web-01/agent.crt",
                                    "--key", "\(dir)/agents/web-01/agent.key", "https://127.0.0.1:\(https)/api/v1/agent/status"])
        #expect(!revoked.succeeded || revoked.stdout == "403", "a revoked certificate must be refused: \(revoked.output)")
        let noCert = try curl.run(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", chain, "https://127.0.0.1:\(https)/api/v1/agent/status"])
        #expect(noCert.stdout == "401", "\(noCert.output)")
        #expect(try openssl.run(["verify", "-CAfile", "\(dir)/state/ca/root-ca.crt", "-untrusted", "\(dir)/state/ca/intermediate-ca.crt",
                                 "\(dir)/agents/db-01/agent.crt"]).succeeded)

        // OCSP through openssl: revoked for web-01, good for db-01, within a second of the demo's revoke.
        let ocspRevoked = try openssl.run(["ocsp", "-issuer", "\(dir)/state/ca/intermediate-ca.crt", "-cert", "\(dir)/agents/web-01/agent.crt",
                                           "-url", "http://127.0.0.1:\(http)/ocsp", "-CAfile", chain])
        #expect(ocspRevoked.output.contains("Response verify OK") && ocspRevoked.stdout.contains(": revoked"), "\(ocspRevoked.output)")
        let ocspGood = try openssl.run(["ocsp", "-issuer", "\(dir)/state/ca/intermediate-ca.crt", "-cert", "\(dir)/agents/db-01/agent.crt",
                                        "-url", "http://127.0.0.1:\(http)/ocsp", "-CAfile", chain])
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
        let crlCheck = try openssl.run(["verify", "-crl_check", "-CRLfile", work.file("crl.pem"), "-CAfile", "\(dir)/state/ca/root-ca.crt",
                                        "-untrusted", "\(dir)/state/ca/intermediate-ca.crt", "\(dir)/agents/web-01/agent.crt"])
        #expect(crlCheck.output.contains("certificate revoked"), "\(crlCheck.output)")

        // EST with curl + openssl only: a one-time token, a CSR from openssl, the PKCS#7 reply.
        let appliance = try ProductBinary.tool("appliance")
        let tokenOutput = try appliance.run(["agents", "token", "--hostname", "curl-01", "--state-dir", "\(dir)/state"])
        let token = try #require(tokenOutput.stdout.split(whereSeparator: \.isWhitespace).last).description
        let uuid = UUID().uuidString.lowercased()
        _ = try openssl.run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", work.file("curl.key"),
                             "-subj", "/CN=agent-curl-01-\(uuid)", "-outform", "DER", "-out", work.file("curl.csr")])
        let csrBase64 = try openssl.run(["base64", "-in", work.file("curl.csr")]).stdout
        try csrBase64.write(toFile: work.file("curl.b64"), atomically: true, encoding: .utf8)
        let enrolled = try curl.run(["-sS", "-w", "\n%{http_code}", "--cacert", chain, "-H", "Authorization: Bearer \(token)",
                                     "-H", "Content-Type: application/pkcs10", "--data-binary", "@\(work.file("curl.b64"))",
                                     "https://127.0.0.1:\(https)/.well-known/est/simpleenroll"])
        #expect(enrolled.stdout.hasSuffix("200"), "\(enrolled.output)")
        let body = enrolled.stdout.components(separatedBy: "\n").dropLast().joined(separator: "\n")
        try body.write(toFile: work.file("reply.b64"), atomically: true, encoding: .utf8)
        _ = try openssl.run(["base64", "-d", "-in", work.file("reply.b64"), "-out", work.file("reply.p7")])
        let certs = try openssl.run(["pkcs7", "-inform", "DER", "-in", work.file("reply.p7"), "-print_certs", "-out", work.file("curl.crt")])
        #expect(certs.succeeded, "\(certs.output)")
        let verified = try openssl.run(["verify", "-CAfile", "\(dir)/state/ca/root-ca.crt", "-untrusted", "\(dir)/state/ca/intermediate-ca.crt", work.file("curl.crt")])
        #expect(verified.succeeded, "\(verified.output)")
        let replay = try curl.run(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", chain, "-H", "Authorization: Bearer \(token)",
                                   "--data-binary", "@\(work.file("curl.b64"))", "https://127.0.0.1:\(https)/.well-known/est/simpleenroll"])
        #expect(replay.stdout.hasPrefix("4"), "a replayed token must be refused: \(replay.output)")

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

        // No secret of the demo appears in anything it printed.
        for secret in ["secrets/token.pin", "secrets/intermediate.passphrase"] {
            let value = try String(contentsOfFile: "\(dir)/\(secret)", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!demo.output.contains(value), "\(secret) leaked into the demo output")
        }
        #expect(!demo.output.contains(token))
    }

    /// Ends any `appliance serve` of `stateDirectory` left running (it runs as another user, so it is
    /// not our child once the demo is gone).
    static func killServers(stateDirectory: String) {
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
        for pid in pids {
            let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            if cmdline.contains("serve") && cmdline.contains(stateDirectory) { kill(pid, SIGKILL) }
        }
    }
}
