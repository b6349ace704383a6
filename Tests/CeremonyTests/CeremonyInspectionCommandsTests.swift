import Foundation
import PKICore
import TestSupport
import Testing

@testable import CeremonyKit

/// The read-only ceremony commands officers rely on to compare what is on the media with what
/// they expect: `ceremony inspect`, `ceremony verify-transcript` and `ceremony devices`, run as
/// the real binary, their printed fingerprints checked against what `openssl`, `softhsm2-util`
/// and the transcript writer compute independently.
@Suite("ceremony inspect, verify-transcript and devices print what the independent tools compute")
struct CeremonyInspectionCommandsTests {
    /// `openssl dgst -sha256` of a file: lower-case hex.
    static func sha256(_ h: CeremonyHarness, _ path: String) throws -> String {
        let result = try h.openssl.run(["dgst", "-sha256", "-r", path])
        guard result.succeeded, let digest = result.stdout.split(separator: " ").first else { throw TestFailure("openssl dgst: \(result.output)") }
        return String(digest)
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo openssl extracts from `command` (`x509` or `req`).
    static func spkiSHA256(_ h: CeremonyHarness, _ command: String, _ path: String) throws -> String {
        let pem = h.work.file("\(UUID().uuidString).spki.pem")
        let der = pem + ".der"
        let extracted = try h.openssl.run([command, "-in", path, "-noout", "-pubkey", "-out", pem])
        guard extracted.succeeded else { throw TestFailure("openssl \(command) -pubkey: \(extracted.output)") }
        let converted = try h.openssl.run(["pkey", "-pubin", "-in", pem, "-outform", "DER", "-out", der])
        guard converted.succeeded else { throw TestFailure("openssl pkey: \(converted.output)") }
        return try sha256(h, der)
    }

    /// The value after `label:` on the line of `output` that starts with two spaces and `label`.
    static func field(_ label: String, in output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("  \(label):") }.map {
            $0.dropFirst("  \(label):".count).trimmingCharacters(in: .whitespaces)
        }
    }

    @Test("inspect of a certificate prints the serial, SPKI SHA-256, DER SHA-256 and subject key identifier openssl computes")
    func inspectCertificate() throws {
        let h = try CeremonyHarness()
        defer { h.remove() }
        let key = h.work.file("ca.key")
        let pem = h.work.file("ca.pem")
        let der = h.work.file("ca.der")
        let made = try h.openssl.run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes", "-keyout", key,
            "-subj", "/O=Inspect Test/CN=Inspect Test Root", "-days", "30", "-out", pem,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            // Octets below 0x10 on purpose: each must print as two hex digits, as openssl does.
            "-addext", "subjectKeyIdentifier=0D0A000102030405060708090A0B0C0D0E0F1011",
        ])
        #expect(made.succeeded, "\(made.output)")
        #expect(try h.openssl.run(["x509", "-in", pem, "-outform", "DER", "-out", der]).succeeded)

        let serial = try h.openssl.run(["x509", "-in", pem, "-noout", "-serial"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "").lowercased()
        func keyIdentifier(_ name: String) throws -> String {
            let printed = try h.openssl.run(["x509", "-in", pem, "-noout", "-ext", name]).stdout
            return printed.split(separator: "\n").last.map {
                $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ":", with: "").lowercased()
            } ?? ""
        }
        let skiHex = try keyIdentifier("subjectKeyIdentifier")
        let akiHex = try keyIdentifier("authorityKeyIdentifier")
        #expect(skiHex == "0d0a000102030405060708090a0b0c0d0e0f1011", "openssl printed another SKI")
        #expect(akiHex.count == 40, "openssl printed no AKI")

        for path in [pem, der] {
            let inspected = try h.run(["inspect", path])
            #expect(inspected.succeeded, "\(inspected.output)")
            let out = inspected.stdout
            #expect(out.hasPrefix("\(path): certificate\n"), "\(out)")
            // openssl drops the leading 00 octet of a positive DER INTEGER; inspect prints the octets.
            let printedSerial = try #require(Self.field("serial", in: out))
            #expect(String(printedSerial.drop(while: { $0 == "0" })) == String(serial.drop(while: { $0 == "0" })), "\(printedSerial) vs \(serial)")
            #expect(Self.field("SPKI SHA-256", in: out) == (try Self.spkiSHA256(h, "x509", pem)))
            #expect(Self.field("certificate SHA-256", in: out) == (try Self.sha256(h, der)))
            // The agent pin is the SPKI SHA-256 in base64 (docs/identity.md), as openssl computes it.
            let pin = try h.openssl.run(["x509", "-in", pem, "-noout", "-pubkey"])
            let pinned = Data(try #require(Hex.decode(try Self.spkiSHA256(h, "x509", pem)))).base64EncodedString()
            #expect(pin.succeeded && Self.field("agent pin", in: out) == "sha256/\(pinned)", "\(out)")
            // Two hex digits per octet, exactly as openssl prints them (no dropped leading zeros),
            // plain lower-case hex without separators (docs/identity.md).
            #expect(Self.field("subject key ID", in: out) == skiHex, "the SKI \(skiHex) is not printed:\n\(out)")
            #expect(Self.field("authority key ID", in: out) == akiHex, "\(out)")
            #expect(out.contains("  extension:           2.5.29.14: SubjectKeyIdentifier(\(skiHex))\n"), "the SKI \(skiHex) is not printed:\n\(out)")
            #expect(out.contains("  extension:           2.5.29.35: AuthorityKeyIdentifier(keyID \(akiHex))\n"), "\(out)")
            // Every octet of the serial: an even number of hex digits, as the DER INTEGER holds them.
            #expect(
                printedSerial.count % 2 == 0 && printedSerial.allSatisfy(\.isHexDigit) && printedSerial == printedSerial.lowercased(),
                "\(printedSerial)")
            #expect(Self.field("subject", in: out)?.contains("Inspect Test Root") == true, "\(out)")
        }
    }

    @Test("inspect of a CSR prints the SPKI SHA-256 openssl computes and a valid proof of possession")
    func inspectCSR() throws {
        let h = try CeremonyHarness()
        defer { h.remove() }
        let key = h.work.file("csr.key")
        let csr = h.work.file("csr.pem")
        let made = try h.openssl.run([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-subj", "/O=Inspect Test/CN=Inspect Test Intermediate", "-out", csr,
        ])
        #expect(made.succeeded, "\(made.output)")
        let inspected = try h.run(["inspect", csr])
        #expect(inspected.succeeded, "\(inspected.output)")
        let out = inspected.stdout
        #expect(out.hasPrefix("\(csr): certificate signing request\n"), "\(out)")
        #expect(Self.field("SPKI SHA-256", in: out) == (try Self.spkiSHA256(h, "req", csr)))
        #expect(Self.field("signature", in: out) == "valid (proof of possession)")
    }

    @Test("inspect of a CRL prints the number, entry count, revoked serial and DER SHA-256 openssl computes")
    func inspectCRL() throws {
        let h = try CeremonyHarness()
        defer { h.remove() }
        // A tiny openssl CA that revokes one certificate and issues CRL number 0x2a.
        let ca = h.work.file("openssl-ca")
        try FileManager.default.createDirectory(atPath: ca, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: "\(ca)/index.txt", contents: Data())
        try "2a\n".write(toFile: "\(ca)/crlnumber", atomically: true, encoding: .utf8)
        try
            ("[ca]\ndefault_ca = d\n[d]\ndatabase = \(ca)/index.txt\ncrlnumber = \(ca)/crlnumber\ndefault_md = sha256\ndefault_crl_days = 7\n"
            // RFC 5280 §5.2.1: conforming CRL issuers MUST include the authorityKeyIdentifier.
            + "crl_extensions = crl_ext\n[crl_ext]\nauthorityKeyIdentifier = keyid:always\n")
            .write(toFile: "\(ca)/ca.cnf", atomically: true, encoding: .utf8)
        let key = "\(ca)/ca.key"
        let cert = "\(ca)/ca.pem"
        let leaf = "\(ca)/leaf.pem"
        let leafKey = "\(ca)/leaf.key"
        for arguments in [
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", "/CN=CRL Test CA",
                "-days", "30", "-out", cert, "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ],
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", leafKey, "-subj", "/CN=revoked leaf",
                "-days", "30", "-set_serial", "0x1234abcd", "-out", leaf,
            ],
            ["ca", "-config", "\(ca)/ca.cnf", "-keyfile", key, "-cert", cert, "-revoke", leaf, "-crl_reason", "keyCompromise"],
            ["ca", "-config", "\(ca)/ca.cnf", "-keyfile", key, "-cert", cert, "-gencrl", "-out", "\(ca)/crl.pem"],
            ["crl", "-in", "\(ca)/crl.pem", "-outform", "DER", "-out", "\(ca)/crl.der"],
        ] {
            let step = try h.openssl.run(arguments)
            #expect(step.succeeded, "openssl \(arguments.joined(separator: " ")): \(step.output)")
        }
        let number = try h.openssl.run(["crl", "-in", "\(ca)/crl.pem", "-noout", "-crlnumber"]).stdout
        #expect(number.trimmingCharacters(in: .whitespacesAndNewlines) == "crlNumber=0x2A")

        for path in ["\(ca)/crl.pem", "\(ca)/crl.der"] {
            let inspected = try h.run(["inspect", path])
            #expect(inspected.succeeded, "\(inspected.output)")
            let out = inspected.stdout
            #expect(out.hasPrefix("\(path): certificate revocation list\n"), "\(out)")
            #expect(Self.field("CRL number", in: out) == "42", "\(out)")
            #expect(Self.field("entries", in: out) == "1")
            #expect(Self.field("CRL SHA-256", in: out) == (try Self.sha256(h, "\(ca)/crl.der")))
            #expect(Self.field("revoked", in: out)?.hasPrefix("1234abcd ") == true, "\(out)")
            #expect(Self.field("revoked", in: out)?.hasSuffix("keyCompromise") == true, "\(out)")
        }
    }

    @Test("inspect of a bundle shows it only after its MANIFEST verifies, and names a tampered bundle as refused")
    func inspectBundle() throws {
        let h = try CeremonyHarness()
        defer { h.remove() }
        let spki = try h.writeCSRBundle()
        let bundle = "\(h.media)/intermediate-csr"
        let inspected = try h.run(["inspect", bundle])
        #expect(inspected.succeeded, "\(inspected.output)")
        let out = inspected.stdout
        #expect(out.hasPrefix("bundle \(bundle): MANIFEST verified ("), "\(out)")
        #expect(out.contains("  | Intermediate CA CSR from the test appliance\n"), "\(out)")
        #expect(out.contains("\nintermediate.csr: certificate signing request\n"), "\(out)")
        #expect(Self.field("SPKI SHA-256", in: out) == (try Self.spkiSHA256(h, "req", h.work.file("intermediate.csr"))))
        #expect(Self.field("SPKI SHA-256", in: out) == spki)

        // One byte of the CSR changed after the MANIFEST was written: nothing is shown.
        let csrPath = "\(bundle)/intermediate.csr"
        var bytes = try #require(FileManager.default.contents(atPath: csrPath))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: csrPath))
        let refused = try h.run(["inspect", bundle])
        #expect(!refused.succeeded)
        #expect(refused.stdout.isEmpty, "\(refused.stdout)")
        #expect(refused.stderr.hasPrefix("ceremony: bundle \(bundle) is refused: "), "\(refused.stderr)")
    }

    /// Three entries written with the transcript writer, as a ceremony does.
    static func writeTranscript(at path: String) throws -> Transcript {
        let transcript = try Transcript(path: path, clock: FixedClock(Date(timeIntervalSince1970: 1_790_000_000)))
        let officer = TranscriptEntry.Actor(role: "officer", name: "A. Officer")
        let witness = TranscriptEntry.Actor(role: "witness", name: "B. Witness")
        try transcript.append(actor: officer, event: "ceremony.start", inputs: ["plan.yaml": String(repeating: "ab", count: 32)])
        try transcript.append(actor: witness, event: "key.generated", details: ["label": "root-2026"])
        try transcript.append(actor: officer, event: "ceremony.end", outputs: ["root-ca.crt": String(repeating: "cd", count: 32)])
        return transcript
    }

    @Test("verify-transcript lists every entry and prints the writer's head in groups of four and as words")
    func verifyTranscriptPrintsHead() throws {
        let h = try CeremonyHarness()
        defer { h.remove() }
        let path = "\(h.media)/transcript.jsonl"
        let transcript = try Self.writeTranscript(at: path)
        let head = transcript.head
        #expect(head.count == 64)
        let grouped = stride(from: 0, to: 64, by: 4).map { offset in
            String(head.dropFirst(offset).prefix(4))
        }.joined(separator: " ")
        let time = try Transcript.verify(path: path).entries.map(\.time)

        for target in [h.media, path] {
            let verified = try h.run(["verify-transcript", target])
            #expect(verified.succeeded, "\(verified.output)")
            #expect(
                verified.stdout == """
                    1\t\(time[0])\tofficer: A. Officer\tceremony.start
                    2\t\(time[1])\twitness: B. Witness\tkey.generated
                    3\t\(time[2])\tofficer: A. Officer\tceremony.end
                    transcript OK: 3 entries
                    head: \(grouped)
                    words: \(Transcript.announce(head: head).words)

                    """, "\(verified.stdout)")
        }
    }

    @Test("verify-transcript names the tampered line by number and prints no head")
    func verifyTranscriptNamesTamperedLine() throws {
        let h = try CeremonyHarness()
        defer { h.remove() }
        let path = "\(h.media)/transcript.jsonl"
        _ = try Self.writeTranscript(at: path)
        let original = try String(contentsOfFile: path, encoding: .utf8)

        // A changed value on line 2: its hash no longer matches its content.
        try original.replacingOccurrences(of: "root-2026", with: "root-2027").write(toFile: path, atomically: true, encoding: .utf8)
        let tampered = try h.run(["verify-transcript", h.media])
        #expect(!tampered.succeeded)
        #expect(!tampered.stdout.contains("head:"), "\(tampered.stdout)")
        #expect(tampered.stderr == "ceremony: line 2 is broken: its hash does not match its content\n", "\(tampered.stderr)")

        // Line 2 removed: line 2 now holds entry 3.
        var lines = original.split(separator: "\n", omittingEmptySubsequences: false)
        lines.remove(at: 1)
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let removed = try h.run(["verify-transcript", h.media])
        #expect(!removed.succeeded)
        #expect(removed.stderr == "ceremony: line 2 is broken: sequence number 3, expected 2\n", "\(removed.stderr)")
    }

    @Test("devices lists the SoftHSM token by the label and serial softhsm2-util reports")
    func devicesListsToken() throws {
        let h = try CeremonyHarness(label: "devices-test")
        defer { h.remove() }
        #expect(!h.token.serial.isEmpty, "softhsm2-util reported no serial")
        let listed = try h.run(["devices", "--module", SoftHSMToken.modulePath])
        #expect(listed.succeeded, "\(listed.output)")
        let lines = listed.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "PKCS#11 module \(SoftHSMToken.modulePath):")
        let tokens = lines.filter { $0.hasPrefix("  token: label \"devices-test\"") }
        #expect(tokens.count == 1, "\(listed.stdout)")
        let token = try #require(tokens.first)
        #expect(token.hasPrefix("  token: label \"devices-test\", serial \(h.token.serial), model SoftHSM v2, "), "\(token)")
        #expect(token.contains("key generation: RSA-4096, P-384;"), "\(token)")
        #expect(token.contains("; pkcs11:") && token.contains("serial=\(h.token.serial)"), "\(token)")
        #expect(lines.contains("PC/SC readers:"), "\(listed.stdout)")
    }

}
