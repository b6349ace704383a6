import Foundation
import TestSupport
import Testing

/// Issue 18: `appliance doctor` finds, before `serve` starts, what would stop it or what it would
/// serve wrongly, each problem on a line with its fix, and exits non-zero.
@Suite("appliance doctor names each problem and its fix", .serialized)
struct ApplianceDoctorTests {
    func doctor(_ appliance: RehearsalAppliance, passphrase: String? = nil, extra: [String] = []) throws -> ExternalTool.Result {
        try appliance.appliance(
            ["doctor", "--config", appliance.config, "--passphrase-file", passphrase ?? appliance.passphraseFile] + extra)
    }

    @Test("a freshly installed state passes every check")
    func goodState() throws {
        let appliance = try RehearsalAppliance()
        defer { appliance.remove() }
        let result = try doctor(appliance)
        #expect(result.status == 0, "\(result.output)")
        for check in [
            "configuration", "state directory", "permissions", "certificates", "intermediate certificate", "key", "store",
            "HTTPS port", "HTTP port", "root CRL", "intermediate CRL",
        ] {
            #expect(result.stdout.contains("ok \(check):"), "no 'ok \(check)' in:\n\(result.output)")
        }
        #expect(!result.stdout.contains("PROBLEM"))
        #expect(result.stdout.contains("doctor: no problems found"))
    }

    @Test("a key readable by others, a private directory open to others and a wrong passphrase are each named with the fix")
    func brokenPermissionsAndKey() throws {
        let appliance = try RehearsalAppliance()
        defer { appliance.remove() }
        let key = appliance.state + "/ca/private/intermediate-ca.key"
        chmod(key, 0o644)
        let modeResult = try doctor(appliance)
        #expect(modeResult.status == 1)
        #expect(modeResult.stdout.contains("PROBLEM permissions: private key \(key) has mode 0644"), "\(modeResult.output)")
        #expect(modeResult.stdout.contains("chmod 600 \(key)"))
        chmod(key, 0o600)

        chmod(appliance.state + "/ca/private", 0o755)
        let directoryResult = try doctor(appliance)
        #expect(directoryResult.status == 1)
        #expect(
            directoryResult.stdout.contains("PROBLEM permissions: private key directory \(appliance.state)/ca/private has mode 0755"),
            "\(directoryResult.output)")
        chmod(appliance.state + "/ca/private", 0o700)

        let wrong = appliance.work.file("etc/wrong.passphrase")
        FileManager.default.createFile(atPath: wrong, contents: Data("not-the-passphrase\n".utf8), attributes: [.posixPermissions: 0o600])
        let keyResult = try doctor(appliance, passphrase: wrong)
        #expect(keyResult.status == 1)
        #expect(keyResult.stdout.contains("PROBLEM key: cannot use the key file \(key)"), "\(keyResult.output)")
        #expect(keyResult.stdout.contains("the passphrase is the one given at appliance init"))
        #expect(!keyResult.output.contains("not-the-passphrase"), "a secret must never be printed")

        try FileManager.default.removeItem(atPath: key)
        let missing = try doctor(appliance)
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("PROBLEM key: cannot use the key file"), "\(missing.output)")
    }

    @Test("an absent and an expired root CRL are problems with the ceremony as the fix")
    func rootCRL() throws {
        let appliance = try RehearsalAppliance()
        defer { appliance.remove() }
        // Expired: judged as of a time after the rehearsal CRL's nextUpdate (read with openssl).
        let nextUpdate = try ExternalTool("openssl").run(["crl", "-inform", "DER", "-in", appliance.state + "/crl/root.crl", "-noout", "-nextupdate"])
        let text = try #require(nextUpdate.stdout.split(separator: "=", maxSplits: 1).last.map(String.init))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        let expiry = try #require(
            formatter.date(from: text.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "  ", with: " ")),
            "cannot parse \(text)")
        let later = ISO8601DateFormatter().string(from: expiry.addingTimeInterval(3600))
        let expired = try doctor(appliance, extra: ["--at", later])
        #expect(expired.status == 1)
        #expect(expired.stdout.contains("PROBLEM root CRL: CRL 1 expired at"), "\(expired.output)")
        #expect(expired.stdout.contains("Runbooks/root-crl-reissue.md"))
        // The same state judged now is fine: the failure above is the expiry, nothing else.
        #expect(try doctor(appliance).stdout.contains("ok root CRL: CRL 1 valid until"))

        try FileManager.default.removeItem(atPath: appliance.state + "/crl/root.crl")
        let absent = try doctor(appliance)
        #expect(absent.status == 1)
        #expect(absent.stdout.contains("PROBLEM root CRL: \(appliance.state)/crl/root.crl is missing or unreadable"), "\(absent.output)")
        #expect(absent.stdout.contains("appliance crl install-root"))
    }

    @Test("a port another process listens on and an invalid configuration are problems")
    func portAndConfiguration() throws {
        let appliance = try RehearsalAppliance()
        defer { appliance.remove() }
        // Another process holds a port (bound to port 0 and read back, so nothing races for it),
        // and the configuration names that port through the documented environment override.
        let listener = try ExternalTool("python3").start([
            "-c",
            "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); print('listening', s.getsockname()[1], flush=True); time.sleep(60)",
        ])
        defer { listener.stop() }
        #expect(listener.waitForOutput("listening ", timeout: 10))
        let held = try #require(listener.output.firstMatch(of: /listening (\d+)/).flatMap { Int($0.1) }, "\(listener.output)")
        let busy = try appliance.appliance(
            ["doctor", "--config", appliance.config, "--passphrase-file", appliance.passphraseFile],
            environment: ["ROOTKEEPER_HTTP_PORT": String(held)])
        #expect(busy.status == 1)
        #expect(busy.stdout.contains("PROBLEM HTTP port: cannot bind 127.0.0.1:\(held): Address already in use"), "\(busy.output)")

        let broken = appliance.work.file("etc/broken.yaml")
        try "state_directory: \(appliance.state)\nhttps:\n  prot: 8443\n".write(toFile: broken, atomically: true, encoding: .utf8)
        let invalid = try appliance.appliance(["doctor", "--config", broken, "--passphrase-file", appliance.passphraseFile])
        #expect(invalid.status == 1)
        #expect(invalid.stdout.contains("PROBLEM configuration:") && invalid.stdout.contains("https.prot"), "\(invalid.output)")
    }
}
