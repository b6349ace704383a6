import Foundation
import PKICore
import TestSupport
import Testing

/// Issue 3, "bad input and faults": each is refused with a clear message and loses nothing.
@Suite("Ceremony faults are refused clearly and lose nothing")
struct CeremonyFaultTests {
    /// A harness with a P-384 root already made.
    func withRoot() throws -> CeremonyHarness {
        let harness = try CeremonyHarness()
        let root = try harness.runPlan(harness.rootPlan(), named: "root.yaml")
        guard root.succeeded else { throw TestFailure(root.output) }
        return harness
    }

    @Test("a tampered CSR bundle is refused before the CSR is parsed")
    func tamperedBundle() throws {
        let harness = try withRoot()
        defer { harness.remove() }
        let spki = try harness.writeCSRBundle()
        let csrPath = "\(harness.media)/intermediate-csr/intermediate.csr"
        var csr = try Data(contentsOf: URL(fileURLWithPath: csrPath))
        csr[40] ^= 0x01
        try csr.write(to: URL(fileURLWithPath: csrPath))
        let result = try harness.runPlan(try harness.plan("intermediate"), named: "i.yaml", answers: ["yes", CeremonyHarness.printoutWords(spki)])
        #expect(!result.succeeded)
        #expect(result.stderr.contains("CSR bundle") && result.stderr.contains("intermediate.csr"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(harness.media)/intermediate-cert"))
    }

    @Test("a CSR whose signature does not verify is refused (bundle intact, CSR forged)")
    func badSignature() throws {
        let harness = try withRoot()
        defer { harness.remove() }
        // Make a valid CSR, then flip a bit in its signature and bundle it with a matching MANIFEST.
        let spki = try harness.writeCSRBundle(directory: "scratch")
        var der = try PEMCodec.der(
            try CSRDecoder.decode(Array(try Data(contentsOf: URL(fileURLWithPath: "\(harness.media)/scratch/intermediate.csr")))))
        der[der.count - 3] ^= 0x01
        try harness.writeCSRBundle(csrBytes: der)
        let result = try harness.runPlan(try harness.plan("intermediate"), named: "i.yaml", answers: ["yes", CeremonyHarness.printoutWords(spki)])
        #expect(!result.succeeded)
        #expect(result.stderr.contains("signature"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(harness.media)/intermediate-cert"))
    }

    @Test("a wrong PIN is reported once with CKR_PIN_INCORRECT and the token is not locked by retries")
    func wrongPIN() throws {
        let harness = try CeremonyHarness()
        defer { harness.remove() }
        let badPIN = harness.work.file("bad-pin")
        FileManager.default.createFile(atPath: badPIN, contents: Data("999999\n".utf8), attributes: [.posixPermissions: 0o600])
        let result = try harness.runPlan(harness.rootPlan(), named: "root.yaml", pinSource: "file:\(badPIN)")
        #expect(!result.succeeded)
        #expect(result.stderr.contains("CKR_PIN_INCORRECT"), "\(result.output)")
        #expect(!result.output.contains("999999"))
        // One failed attempt: the right PIN still works (SoftHSM would lock after repeated failures).
        #expect(try harness.runPlan(harness.rootPlan(), named: "root.yaml").succeeded)
    }

    @Test("a missing token is named, with the tokens that are present")
    func missingToken() throws {
        let harness = try CeremonyHarness()
        defer { harness.remove() }
        let path = harness.work.file("root.yaml")
        try harness.rootPlan().write(toFile: path, atomically: true, encoding: .utf8)
        let result = try harness.run(
            ["run", path, "--media", harness.media, "--token", "no-such-token", "--pin-source", "file:\(harness.pinFile)"], stdin: "yes\n")
        #expect(!result.succeeded)
        #expect(result.stderr.contains("no-such-token") && result.stderr.contains(harness.token.label), "\(result.output)")
    }

    @Test("outputs are never overwritten: a second root ceremony on the same media is refused")
    func outputExists() throws {
        let harness = try withRoot()
        defer { harness.remove() }
        let before = try Data(contentsOf: URL(fileURLWithPath: "\(harness.media)/root/root-ca.crt"))
        let again = try harness.runPlan(harness.rootPlan(label: "another-root"), named: "root2.yaml")
        #expect(!again.succeeded)
        #expect(again.stderr.contains("already exists"), "\(again.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(harness.media)/root/root-ca.crt")) == before)
        // Refused before the key was generated: the token holds no second key pair.
        let objects = try ExternalTool("pkcs11-tool").run(
            ["--module", SoftHSMToken.modulePath, "--token-label", harness.token.label, "--login", "--pin", harness.token.userPIN, "--list-objects"],
            environment: harness.token.environment)
        #expect(!objects.stdout.contains("another-root"))
    }

    @Test("a media directory that is not writable is refused before the token is touched")
    func mediaNotWritable() throws {
        let harness = try CeremonyHarness()
        defer { harness.remove() }
        let plan = harness.work.file("root.yaml")
        try harness.rootPlan().write(toFile: plan, atomically: true, encoding: .utf8)
        // A read-only mount is what an unwritable USB stick looks like even to root.
        let script = """
            mount -t tmpfs -o ro tmpfs "$1" && exec "$2" run "$3" --media "$1" --token "$4" --pin-source "file:$5"
            """
        let result = try ExternalTool("unshare").run(
            ["-m", "sh", "-c", script, "sh", harness.media, ProductBinary.path("ceremony"), plan, harness.token.label, harness.pinFile],
            stdin: Data("yes\n".utf8), environment: harness.token.environment)
        #expect(!result.succeeded)
        #expect(result.stderr.contains("not writable"), "\(result.output)")
    }

    @Test("a transcript with one edited line is named by verify-transcript and never extended")
    func editedTranscript() throws {
        let harness = try withRoot()
        defer { harness.remove() }
        let path = "\(harness.media)/transcript.jsonl"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "Test Officer", with: "Test 0fficer").write(toFile: path, atomically: true, encoding: .utf8)
        let verify = try harness.run(["verify-transcript", harness.media])
        #expect(!verify.succeeded && verify.stderr.contains("line 1"), "\(verify.output)")
        harness.writeCSRBundleIgnoringErrors()
        let result = try harness.runPlan(try harness.plan("intermediate"), named: "i.yaml", answers: ["yes", "00000000"])
        #expect(!result.succeeded && result.stderr.contains("line 1"), "\(result.output)")
    }

    @Test("a live (non-rehearsal) ceremony is refused on a machine with a network")
    func liveOnConnectedMachine() throws {
        let harness = try CeremonyHarness()
        defer { harness.remove() }
        let plan = harness.rootPlan(rehearsal: false)
        let result = try harness.runPlan(plan, named: "root.yaml")
        let connected = try ExternalTool("ip").run(["-o", "link", "show", "up"]).stdout.split(separator: "\n").contains { !$0.contains(" lo:") }
        try #require(connected, "this check needs a machine with a network interface up")
        #expect(!result.succeeded)
        #expect(result.stderr.contains("not air-gapped"), "\(result.output)")
    }

    @Test("--yes-i-have-checked is refused for a production plan, even on an air-gapped machine with a production root")
    func preconfirmationIsRehearsalOnly() throws {
        let harness = try CeremonyHarness()
        defer { harness.remove() }
        let root = try harness.runPlan(harness.rootPlan(rehearsal: false), named: "root.yaml", offline: true)
        try #require(root.succeeded, "\(root.output)")
        let spki = try harness.writeCSRBundle()
        // Inside a network namespace the machine is air-gapped, so only the flag rule can refuse.
        let live = try harness.plan("intermediate", rehearsal: false, expectedSPKI: spki)
        let result = try harness.runPlan(live, named: "live.yaml", offline: true, extra: ["--yes-i-have-checked", spki])
        #expect(!result.succeeded && result.stderr.contains("rehearsals only"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(harness.media)/intermediate-cert"))
    }
}

extension CeremonyHarness {
    func writeCSRBundleIgnoringErrors() { _ = try? writeCSRBundle() }
}
