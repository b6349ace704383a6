import ApplianceKit
import Foundation
import TestSupport
import Testing

/// The restore drill with the real binaries only: `appliance demo` builds a PKI and serves; a
/// backup is taken while it serves; the demo is stopped; the backup is restored into an empty
/// directory and served again; openssl — not our code — checks that OCSP answers as before and that
/// the CRL number did not go backwards.
@Suite("Backup restore drill (real binaries, openssl)", .serialized)
struct BackupDrillTests {
    @Test("a state restored from a backup taken while serving serves the same answers and a CRL number at least as high")
    func drill() throws {
        let work = try TemporaryDirectory("backup-drill")
        defer { work.remove() }
        chmod(work.path, 0o755)  // the appliance drops to nobody when run as root
        let dir = work.file("demo")
        let restored = work.file("restored")
        let appliance = try ProductBinary.tool("appliance")
        let openssl = try ExternalTool("openssl")
        let curl = try ExternalTool("curl")
        let demo = try appliance.start(["demo", "--dir", dir])
        defer {
            demo.stop()
            ProcessReaper.terminate(commandLineContaining: work.path)
        }
        try #require(demo.waitForOutput("press Ctrl-C to stop", timeout: 240), "demo did not finish:\n\(demo.output)")
        let http = try #require(demo.output.firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)\/metrics/)?.1).description

        // What the serving appliance says before the backup.
        let originalCRL = try Self.crlNumber(
            curl: curl, openssl: openssl, url: "http://127.0.0.1:\(http)/crl/intermediate.crl", to: work.file("original.crl"))
        let passphrase = work.file("backup.passphrase")
        FileManager.default.createFile(
            atPath: passphrase, contents: Data("drill passphrase \(UUID().uuidString)\n".utf8), attributes: [.posixPermissions: 0o600])

        // Backup while serving, then verify.
        let archive = work.file("rootkeeper.rkbackup")
        let created = try appliance.run([
            "backup", "create", "--state-dir", "\(dir)/state", "--config", "\(dir)/appliance.yaml",
            "--out", archive, "--passphrase-file", passphrase,
        ])
        try #require(created.succeeded, "\(created.output)")
        let verified = try appliance.run(["backup", "verify", "--file", archive, "--passphrase-file", passphrase])
        #expect(verified.succeeded && verified.stdout.contains("backup OK"), "\(verified.output)")
        let certificates = try #require(verified.stdout.firstMatch(of: /certificates in database: (\d+)/)?.1).description
        #expect((Int(certificates) ?? 0) >= 3, "the demo issued several certificates: \(verified.stdout)")

        // The original goes away; the restore stands alone.
        demo.stop()
        ProcessReaper.terminate(commandLineContaining: "\(dir)/state")

        let restoredRun = try appliance.run([
            "backup", "restore", "--file", archive, "--state-dir", restored, "--passphrase-file", passphrase,
            "--config-out", work.file("restored-from-backup.yaml"), "--owner", "nobody",
        ])
        try #require(restoredRun.succeeded, "\(restoredRun.output)")
        let archivedConfig = try String(contentsOfFile: work.file("restored-from-backup.yaml"), encoding: .utf8)
        #expect(archivedConfig.contains("state_directory: \(dir)/state"), "the archived configuration is the demo's")

        // Serve the restored state on ports the OS chooses (the configuration now names the restored directory).
        let config = work.file("restored.yaml")
        try ApplianceProcess.writeConfiguration(to: config, state: restored)
        let started = try ApplianceProcess.launch(
            state: restored, config: config, secret: ["--passphrase-file", "\(dir)/secrets/intermediate.passphrase"], requireHealthy: false)
        let serve = started.process
        defer { serve.stop(signal: SIGTERM) }
        let ports = (started.https, started.http)
        var healthy = false
        for _ in 0..<150 where !healthy {
            healthy = (try? curl.run(["-sS", "-f", "-o", "/dev/null", "http://127.0.0.1:\(ports.1)/crl/intermediate.crl"]))?.succeeded == true
            if !healthy { usleep(200_000) }
        }
        try #require(healthy, "the restored appliance did not serve:\n\(serve.output)")

        // OCSP through openssl: web-01 still revoked, db-01 still good.
        let chain = "\(restored)/ca/ca-chain.crt"
        let issuer = "\(restored)/ca/intermediate-ca.crt"
        let revoked = try openssl.run([
            "ocsp", "-issuer", issuer, "-cert", "\(dir)/agents/web-01/agent.crt", "-url", "http://127.0.0.1:\(ports.1)/ocsp", "-CAfile", chain,
        ])
        #expect(revoked.output.contains("Response verify OK") && revoked.stdout.contains(": revoked"), "\(revoked.output)")
        let good = try openssl.run([
            "ocsp", "-issuer", issuer, "-cert", "\(dir)/agents/db-01/agent.crt", "-url", "http://127.0.0.1:\(ports.1)/ocsp", "-CAfile", chain,
        ])
        #expect(good.output.contains("Response verify OK") && good.stdout.contains(": good"), "\(good.output)")

        // The CRL served from the restored state is numbered at least as high as before.
        let restoredCRL = try Self.crlNumber(
            curl: curl, openssl: openssl, url: "http://127.0.0.1:\(ports.1)/crl/intermediate.crl", to: work.file("restored.crl"))
        #expect(restoredCRL >= originalCRL, "CRL number went back from \(originalCRL) to \(restoredCRL)")
        let serial = try openssl.run(["x509", "-in", "\(dir)/agents/web-01/agent.crt", "-noout", "-serial"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
        let text = try openssl.run(["crl", "-inform", "DER", "-in", work.file("restored.crl"), "-noout", "-text"]).stdout
        #expect(text.contains("Serial Number: \(serial)"), "the restored CRL does not list the revoked web-01")
        #expect(!archivedConfig.isEmpty && !restoredRun.output.contains("drill passphrase"))
    }

    /// Downloads a DER CRL and reads its number with openssl.
    static func crlNumber(curl: ExternalTool, openssl: ExternalTool, url: String, to path: String) throws -> UInt64 {
        let fetched = try curl.run(["-sS", "-f", "-o", path, url])
        guard fetched.succeeded else { throw TestFailure("cannot fetch \(url): \(fetched.output)") }
        let result = try openssl.run(["crl", "-inform", "DER", "-in", path, "-noout", "-crlnumber"])
        // openssl prints "crlNumber=0x0A" (hex).
        let hex = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "crlNumber=", with: "")
            .replacingOccurrences(of: "0x", with: "")
        guard result.succeeded, let number = UInt64(hex, radix: 16) else { throw TestFailure("no CRL number in \(url): \(result.output)") }
        return number
    }
}
