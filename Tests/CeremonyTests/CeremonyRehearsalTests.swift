import Foundation
import PKICore
import TestSupport
import Testing

/// Issue 3, "what must be shown": root → CSR bundle → intermediate → CRL on a fresh SoftHSM token,
/// checked by openssl and pkcs11-tool, with a transcript that verifies and then fails when edited.
@Suite("A rehearsal ceremony on SoftHSM, checked with openssl and pkcs11-tool")
struct CeremonyRehearsalTests {
    @Test("root (RSA-4096) → intermediate → CRL, verified by independent tools")
    func fullRehearsal() throws {
        let harness = try CeremonyHarness()
        defer { harness.remove() }

        let root = try harness.runPlan(harness.rootPlan(algorithm: "rsa4096"), named: "root.yaml")
        #expect(root.succeeded, "\(root.output)")
        #expect(root.stdout.contains("plan SHA-256:"))
        #expect(root.stdout.contains("CKA_NEVER_EXTRACTABLE=true"))
        let rootPEM = "\(harness.media)/root/root-ca.crt"
        #expect(try ExternalTool("sha256sum").run(["-c", "MANIFEST"], currentDirectory: "\(harness.media)/root").succeeded)

        // The key never leaves the token: pkcs11-tool sees it sensitive and never extractable, and
        // reading its value fails.
        let pkcs11Tool = try ExternalTool("pkcs11-tool")
        let objects = try pkcs11Tool.run(
            ["--module", SoftHSMToken.modulePath, "--token-label", harness.token.label, "--login", "--pin", harness.token.userPIN, "--list-objects"],
            environment: harness.token.environment)
        #expect(objects.succeeded, "\(objects.output)")
        let privateKeyBlock = objects.stdout.components(separatedBy: "Private Key Object").dropFirst().first ?? ""
        #expect(privateKeyBlock.contains("sensitive"))
        #expect(privateKeyBlock.contains("never extractable"))
        let read = try pkcs11Tool.run(
            [
                "--module", SoftHSMToken.modulePath, "--token-label", harness.token.label, "--login", "--pin", harness.token.userPIN,
                "--read-object", "--type", "privkey", "--label", "root-2026", "--output-file", harness.work.file("stolen.der"),
            ],
            environment: harness.token.environment)
        // pkcs11-tool refuses to export private key values at all; what matters is that no key
        // material came out of the token.
        #expect(!read.succeeded || read.stderr.contains("not (yet) supported"), "\(read.output)")
        #expect(
            !FileManager.default.fileExists(atPath: harness.work.file("stolen.der"))
                || (try? Data(contentsOf: URL(fileURLWithPath: harness.work.file("stolen.der"))))?.isEmpty == true)

        let spki = try harness.writeCSRBundle()
        let intermediatePlan = try harness.plan("intermediate")
        let intermediate = try harness.runPlan(intermediatePlan, named: "intermediate.yaml", answers: ["yes", CeremonyHarness.printoutWords(spki)])
        #expect(intermediate.succeeded, "\(intermediate.output)")
        #expect(intermediate.stdout.contains("basicConstraints CA:TRUE pathLen:5 (critical) (requested; the profile overrides it)"))
        #expect(intermediate.stdout.contains("CA:TRUE pathLen 0"))
        let intermediatePEM = "\(harness.media)/intermediate-cert/intermediate-ca.crt"
        let verify = try harness.openssl.run(["verify", "-x509_strict", "-CAfile", rootPEM, intermediatePEM])
        #expect(verify.succeeded && verify.stdout.contains(": OK"), "\(verify.output)")
        let text = try harness.openssl.run(["x509", "-in", intermediatePEM, "-noout", "-text"]).stdout
        #expect(text.contains("CA:TRUE, pathlen:0"))

        let serial = try harness.openssl.run(["x509", "-in", intermediatePEM, "-noout", "-serial"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
        let crlPlan = try harness.plan("crl").replacingOccurrences(
            of: "  revoke: []", with: "  revoke:\n    - serial: \"\(serial)\"\n      reason: keyCompromise")
        let crl = try harness.runPlan(crlPlan, named: "crl.yaml")
        #expect(crl.succeeded, "\(crl.output)")
        let crlCheck = try harness.openssl.run([
            "crl", "-inform", "DER", "-in", "\(harness.media)/crl/root.crl", "-CAfile", rootPEM, "-noout", "-text",
        ])
        #expect(crlCheck.output.contains("verify OK"), "\(crlCheck.output)")
        #expect(crlCheck.stdout.contains("Serial Number: \(serial)"))
        #expect(crlCheck.stdout.contains("Key Compromise"))
        #expect(crlCheck.stdout.contains("X509v3 CRL Number: \n                1"))
        let revokedCheck = try harness.openssl.run([
            "verify", "-crl_check", "-CRLfile", "\(harness.media)/crl/root.crl.pem", "-CAfile", rootPEM, intermediatePEM,
        ])
        #expect(!revokedCheck.succeeded && revokedCheck.output.contains("certificate revoked"))

        // A second CRL carries the revocation forward with a higher number, in a new directory.
        let second = try harness.runPlan(try harness.plan("crl"), named: "crl2.yaml")
        #expect(second.succeeded, "\(second.output)")
        let secondText = try harness.openssl.run([
            "crl", "-inform", "DER", "-in", "\(harness.media)/crl-2/root.crl", "-CAfile", rootPEM, "-noout", "-text",
        ])
        #expect(secondText.output.contains("verify OK") && secondText.stdout.contains("Serial Number: \(serial)"))
        #expect(secondText.stdout.contains("X509v3 CRL Number: \n                2"))

        let transcript = try harness.run(["verify-transcript", harness.media])
        #expect(transcript.succeeded && transcript.stdout.contains("transcript OK"), "\(transcript.output)")
        // One changed byte, and verification fails naming the line.
        let path = "\(harness.media)/transcript.jsonl"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let secondLine = bytes.firstIndex(of: UInt8(ascii: "\n"))! + 1
        bytes[secondLine + 10] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: path))
        let broken = try harness.run(["verify-transcript", harness.media])
        #expect(!broken.succeeded)
        #expect(broken.stderr.contains("line 2"), "\(broken.output)")
    }

    @Test("a P-384 root signs an intermediate that openssl accepts")
    func p384Root() throws {
        let harness = try CeremonyHarness()
        defer { harness.remove() }
        #expect(try harness.runPlan(harness.rootPlan(algorithm: "p384"), named: "root.yaml").succeeded)
        let spki = try harness.writeCSRBundle()
        let signed = try harness.runPlan(try harness.plan("intermediate"), named: "i.yaml", answers: ["yes", CeremonyHarness.printoutWords(spki)])
        #expect(signed.succeeded, "\(signed.output)")
        let verify = try harness.openssl.run([
            "verify", "-x509_strict", "-CAfile", "\(harness.media)/root/root-ca.crt", "\(harness.media)/intermediate-cert/intermediate-ca.crt",
        ])
        #expect(verify.succeeded, "\(verify.output)")
    }
}
