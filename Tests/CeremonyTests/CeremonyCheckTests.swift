import CeremonyKit
import Foundation
import PKICore
import SecureFiles
import TestSupport
import Testing

/// Issue 18, "plans an officer can check before the token is touched": `ceremony check` (and
/// `run --dry-run`) validates everything `run` would — plan, environment, media, CSR bundle,
/// profile, validity, country — without loading the PKCS#11 module or writing anything, and `run`
/// starts with the same check. Against the real `ceremony` binary.
@Suite("ceremony check validates what run would, without the token, and writes nothing")
struct CeremonyCheckTests {
    /// Every file below `directory` with its bytes (and so also which files exist).
    static func snapshot(_ directory: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for relative in (FileManager.default.subpaths(atPath: directory) ?? []) {
            var isDirectory: ObjCBool = false
            let path = "\(directory)/\(relative)"
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            files[relative] = isDirectory.boolValue ? Data("<dir>".utf8) : try Data(contentsOf: URL(fileURLWithPath: path))
        }
        return files
    }

    /// `ceremony check PLAN` with the harness's token and PIN file, and `module`; `environment`
    /// replaces the SoftHSM configuration (a path that does not exist shows nothing initialised it).
    static func check(
        _ h: CeremonyHarness, _ plan: String, module: String = "/nonexistent/libpkcs11.so",
        environment: [String: String] = ["SOFTHSM2_CONF": "/nonexistent/softhsm2.conf"], extra: [String] = [], command: [String] = ["check"]
    ) throws -> ExternalTool.Result {
        try h.ceremony.run(
            command + [
                plan, "--media", h.media, "--module", module, "--token", h.token.label, "--pin-source", "file:\(h.pinFile)",
                "--operator", "Test Officer",
            ] + extra,
            environment: environment)
    }

    /// `ab:cd:…`, as openssl prints fingerprints.
    static func colons(_ hex: String) -> String {
        let digits = Array(hex)
        return stride(from: 0, to: digits.count, by: 2).map { String(digits[$0..<$0 + 2]) }.joined(separator: ":")
    }

    static func write(_ h: CeremonyHarness, _ text: String, _ name: String) throws -> String {
        let path = h.work.file(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a good root plan passes with the module missing or unable to start; check and run --dry-run write nothing")
    func rootPlanWithoutToken() throws {
        let h = try CeremonyHarness()
        defer { h.remove() }
        let plan = try Self.write(h, h.rootPlan(), "root.yaml")
        let media = try Self.snapshot(h.media)
        let token = try h.tokenFiles()
        // A module path that does not exist, and the real module with a configuration that does not
        // exist (C_Initialize would fail, as ModuleInitializationFailureTests shows): both pass.
        for module in ["/nonexistent/libpkcs11.so", SoftHSMToken.modulePath] {
            for command in [["check"], ["run", "--dry-run"]] {
                let result = try Self.check(h, plan, module: module, command: command)
                #expect(result.succeeded, "\(command) \(module): \(result.output)")
                #expect(result.stdout.contains("check: OK (the token was not opened and nothing was written)"), "\(result.output)")
                #expect(result.stdout.contains("root: subject CN=Example Root CA"), "\(result.output)")
                #expect(!result.output.contains("The clock reads") && !result.output.contains("User PIN"), "\(result.output)")
            }
        }
        #expect(try Self.snapshot(h.media) == media, "the check wrote to the media")
        #expect(try h.tokenFiles() == token)
        // The same plan still runs for real afterwards.
        #expect(try h.runPlan(h.rootPlan(), named: "root.yaml").succeeded)
    }

    @Test("a root plan of fewer than 5 years fails in the check, and run fails the same way before the key is generated")
    func shortRootFailsEarly() throws {
        let h = try CeremonyHarness()
        defer { h.remove() }
        let short = h.rootPlan().replacingOccurrences(of: "validity-years: 20", with: "validity-years: 3")
        let plan = try Self.write(h, short, "short.yaml")
        let checked = try Self.check(h, plan)
        #expect(!checked.succeeded && checked.stderr.contains("root.validity-years must be between 5 and 30"), "\(checked.output)")
        let run = try h.runPlan(short, named: "short.yaml")
        #expect(!run.succeeded && run.stderr.contains("root.validity-years must be between 5 and 30"), "\(run.output)")
        #expect(!run.stdout.contains("The clock reads"), "refused before anything was asked: \(run.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(h.media)/transcript.jsonl"))
        let objects = try ExternalTool("pkcs11-tool").run(
            ["--module", SoftHSMToken.modulePath, "--token-label", h.token.label, "--login", "--pin", h.token.userPIN, "--list-objects"],
            environment: h.token.environment)
        #expect(!objects.stdout.contains("root-2026"), "a key was generated: \(objects.output)")

        // An explicit end date two years ahead fails the same bound, with the dates named.
        let soon = Calendar(identifier: .gregorian).date(byAdding: .year, value: 2, to: Date())!
        let day = ISO8601DateFormatter.string(from: soon, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
        let dated = h.rootPlan().replacingOccurrences(of: "  validity-years: 20", with: "  not-after: \"\(day)\"")
        let datedResult = try Self.check(h, try Self.write(h, dated, "dated.yaml"))
        #expect(
            !datedResult.succeeded && datedResult.stderr.contains("a root CA lives 5–30 years") && datedResult.stderr.contains("not \(day)"),
            "\(datedResult.output)")
        // Both forms at once is ambiguous.
        let both = h.rootPlan().replacingOccurrences(of: "  validity-years: 20", with: "  validity-years: 20\n  not-after: \"2046-12-06\"")
        let bothResult = try Self.check(h, try Self.write(h, both, "both.yaml"))
        #expect(!bothResult.succeeded && bothResult.stderr.contains("keep one"), "\(bothResult.output)")
    }

    @Test("country codes are ISO 3166-1 alpha-2: UK is refused with the hint GB, in the check")
    func countryCodes() throws {
        let h = try CeremonyHarness()
        defer { h.remove() }
        for (country, message) in [
            ("UK", "did you mean 'GB'?"), ("gb", "write 'GB'"), ("ZZ", "not an assigned ISO 3166-1 alpha-2 code"), ("GBR", "two upper-case letters"),
        ] {
            let text = h.rootPlan().replacingOccurrences(of: "country: GB", with: "country: \(country)")
            let result = try Self.check(h, try Self.write(h, text, "c.yaml"))
            #expect(
                !result.succeeded && result.stderr.contains("root.subject.country") && result.stderr.contains(message), "\(country): \(result.output)"
            )
        }
        let germany = h.rootPlan().replacingOccurrences(of: "country: GB", with: "country: DE")
        #expect(try Self.check(h, try Self.write(h, germany, "de.yaml")).succeeded)
    }

    @Test(
        "an intermediate plan is checked against the media (root, CSR bundle, CSR key) without the token; a swapped CSR is named by the expected value only"
    )
    func intermediatePlan() throws {
        let h = try CeremonyHarness()
        defer { h.remove() }
        #expect(try h.runPlan(h.rootPlan(), named: "root.yaml").succeeded)
        let spki = try h.writeCSRBundle()
        let plan = try Self.write(h, try h.plan("intermediate", expectedSPKI: spki), "i.yaml")
        let media = try Self.snapshot(h.media)
        let good = try Self.check(h, plan)
        #expect(good.succeeded && good.stdout.contains("CSR bundle intermediate-csr: MANIFEST verified, signature valid"), "\(good.output)")
        #expect(good.stdout.contains("key matches intermediate.expected-spki-sha256"), "\(good.output)")
        #expect(try Self.snapshot(h.media) == media)

        // The root pinned by each form the root ceremony printed (docs/identity.md).
        let root = try PEMCodec.certificate(from: try SecureFile.read("\(h.media)/root/root-ca.der"))
        let identifiers = try CertificateIdentifiers(root)
        let planText = try String(contentsOfFile: plan, encoding: .utf8)
        for form in [
            Hex.encode(identifiers.certificateSHA256), identifiers.agentPin,
            Self.colons(Hex.encode(identifiers.spkiSHA256)).uppercased(),
        ] {
            let pinned = planText.replacingOccurrences(of: "spki-sha256: \"\(Hex.encode(identifiers.spkiSHA256))\"", with: "spki-sha256: \"\(form)\"")
            #expect(pinned != planText)
            let result = try Self.check(h, try Self.write(h, pinned, "form.yaml"))
            #expect(result.succeeded, "\(form): \(result.output)")
        }

        // A CSR on the media that is not the printed one: refused naming the plan's value only.
        let other = try h.writeCSRBundle(directory: "other-csr")
        let swapped = try Self.write(
            h, planText.replacingOccurrences(of: "csr-bundle: intermediate-csr", with: "csr-bundle: other-csr"), "swapped.yaml")
        let refused = try Self.check(h, swapped)
        #expect(!refused.succeeded && refused.stderr.contains("does not match the expected SPKI SHA-256 \(spki)"), "\(refused.output)")
        #expect(!refused.output.lowercased().contains(other), "the refusal shows the swapped CSR's key hash: \(refused.output)")

        // A tampered CSR bundle is refused by the check, which writes nothing.
        let csrPath = "\(h.media)/intermediate-csr/intermediate.csr"
        var csr = try Data(contentsOf: URL(fileURLWithPath: csrPath))
        csr[40] ^= 0x01
        try csr.write(to: URL(fileURLWithPath: csrPath))
        let before = try Self.snapshot(h.media)
        let tampered = try Self.check(h, plan)
        #expect(
            !tampered.succeeded && tampered.stderr.contains("the CSR bundle") && tampered.stderr.contains("intermediate.csr"), "\(tampered.output)")
        #expect(try Self.snapshot(h.media) == before)
    }

    @Test("attack: media whose root differs from the plan's — check, run and recover refuse without showing the media root in any form")
    func mediaWithAnotherRoot() throws {
        let genuine = try CeremonyHarness()
        let forged = try CeremonyHarness()
        defer {
            genuine.remove()
            forged.remove()
        }
        #expect(try genuine.runPlan(genuine.rootPlan(), named: "root.yaml").succeeded)
        #expect(try forged.runPlan(forged.rootPlan(), named: "root.yaml").succeeded)
        // The officer's plan pins the genuine root (from the paper log); the media is the forger's.
        let plan = try genuine.plan("intermediate")
        try forged.writeCSRBundle()
        let path = try Self.write(forged, plan, "i.yaml")
        let genuineRoot = try CertificateIdentifiers(try PEMCodec.certificate(from: try SecureFile.read("\(genuine.media)/root/root-ca.der")))
        let forgedRoot = try CertificateIdentifiers(try PEMCodec.certificate(from: try SecureFile.read("\(forged.media)/root/root-ca.der")))
        // Every way the forged root could be written down: hex either case, with colons, the pin.
        let leaks =
            [forgedRoot.certificateSHA256, forgedRoot.spkiSHA256].flatMap { digest -> [String] in
                let hex = Hex.encode(digest)
                return [hex, Self.colons(hex), String(hex.prefix(16)), Data(digest).base64EncodedString()]
            } + [forgedRoot.agentPin]

        let checked = try Self.check(forged, path)
        let run = try forged.runPlan(plan, named: "i.yaml", answers: ["yes", "x"])
        let recover = try forged.run(
            [
                "recover", "--media", forged.media, "--module", SoftHSMToken.modulePath, "--token", forged.token.label,
                "--pin-source", "file:\(forged.pinFile)", "--root-spki", genuineRoot.agentPin,
            ], stdin: "yes\n")
        for (name, result) in [("check", checked), ("run", run), ("recover", recover)] {
            #expect(!result.succeeded, "\(name): \(result.output)")
            #expect(result.stderr.contains("does not match the expected"), "\(name): \(result.output)")
            // The expected value is named, with where it came from.
            #expect(
                result.stderr.contains(name == "recover" ? genuineRoot.agentPin : Hex.encode(genuineRoot.spkiSHA256)), "\(name): \(result.output)")
            #expect(
                result.stderr.contains(name == "recover" ? "from --root-spki" : "from the plan's intermediate.root-key.spki-sha256"),
                "\(name): \(result.output)")
            for leak in leaks {
                #expect(!result.output.lowercased().contains(leak.lowercased()), "\(name) shows the media's root as \(leak): \(result.output)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: "\(forged.media)/intermediate-cert"))
    }

    @Test("a CRL plan is checked against the root database: a serial the root never issued and an unknown reason are refused without the token")
    func crlPlan() throws {
        let h = try CeremonyHarness()
        defer { h.remove() }
        #expect(try h.runPlan(h.rootPlan(), named: "root.yaml").succeeded)
        let plan = try h.plan("crl")
        let good = try Self.check(h, try Self.write(h, plan, "crl.yaml"))
        #expect(good.succeeded && good.stdout.contains("CRL: number 1, next update in 180 days"), "\(good.output)")
        let unknownSerial = plan.replacingOccurrences(of: "  revoke: []", with: "  revoke:\n    - serial: \"0abc\"\n      reason: keyCompromise")
        let refused = try Self.check(h, try Self.write(h, unknownSerial, "serial.yaml"))
        #expect(!refused.succeeded && refused.stderr.contains("serial 0abc was never issued by this root; nothing is revoked"), "\(refused.output)")
        let badReason = unknownSerial.replacingOccurrences(of: "reason: keyCompromise", with: "reason: compromised")
        let reason = try Self.check(h, try Self.write(h, badReason, "reason.yaml"))
        #expect(!reason.succeeded && reason.stderr.contains("crl.revoke[0].reason 'compromised' is not an RFC 5280 reason name"), "\(reason.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(h.media)/crl"))
    }
}
