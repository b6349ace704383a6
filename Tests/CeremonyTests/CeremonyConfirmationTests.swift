import CeremonyKit
import Foundation
import PKICore
import TestSupport
import Testing

/// Issue 11 part 5: the intermediate ceremony signs only a CSR whose key matches the whole SPKI
/// SHA-256 in the plan, and only after the officer typed at least 128 bits of it as PGP words from
/// the appliance operator's printout. Each refusal is shown against the real `ceremony` binary and
/// a SoftHSM token, production plans run in a fresh network namespace (an air-gapped machine).
@Suite("Intermediate ceremony confirmations: the plan's full SPKI hash and PGP words from the printout")
struct CeremonyConfirmationTests {
    /// A harness whose token holds a production root made by a production root plan.
    func withProductionRoot() throws -> CeremonyHarness {
        let harness = try CeremonyHarness()
        let root = try harness.runPlan(harness.rootPlan(rehearsal: false), named: "root.yaml", offline: true)
        guard root.succeeded else { throw TestFailure(root.output) }
        return harness
    }

    @Test("a production intermediate plan without expected-spki-sha256 is refused before the token is opened")
    func productionPlanNeedsSPKIHash() throws {
        let harness = try withProductionRoot()
        defer { harness.remove() }
        let spki = try harness.writeCSRBundle()
        // The production template has a placeholder that must be replaced from the printout…
        let template = try harness.plan("intermediate", rehearsal: false)
        #expect(template.contains("rehearsal: false") && template.contains("expected-spki-sha256: \"REPLACE\""), "\(template)")
        let placeholder = try harness.runPlan(
            template, named: "placeholder.yaml", answers: ["yes", CeremonyHarness.printoutWords(spki)], offline: true)
        #expect(
            !placeholder.succeeded && placeholder.stderr.contains("intermediate.expected-spki-sha256 must be 64 hex digits"), "\(placeholder.output)")
        // …and a plan that simply leaves the key out is refused too.
        let without = template.replacingOccurrences(of: "expected-spki-sha256: \"REPLACE\"", with: "")
        let transcriptBefore = try String(contentsOfFile: "\(harness.media)/transcript.jsonl", encoding: .utf8)
        let refused = try harness.runPlan(without, named: "without.yaml", answers: ["yes", CeremonyHarness.printoutWords(spki)], offline: true)
        #expect(!refused.succeeded, "\(refused.output)")
        #expect(refused.stderr.contains("intermediate.expected-spki-sha256 is required outside a rehearsal"), "\(refused.output)")
        #expect(!refused.stdout.contains("token:"), "the token was opened: \(refused.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(harness.media)/intermediate-cert"))
        #expect(try String(contentsOfFile: "\(harness.media)/transcript.jsonl", encoding: .utf8) == transcriptBefore)
        // The same plan as a rehearsal may omit it.
        let rehearsal = without.replacingOccurrences(of: "rehearsal: false", with: "rehearsal: true")
        #expect(throws: Never.self) { try CeremonyPlan.load(text: rehearsal) }
    }

    @Test("wrong PGP words are refused before signing: no certificate, root database and token untouched")
    func wrongWords() throws {
        let harness = try withProductionRoot()
        defer { harness.remove() }
        let spki = try harness.writeCSRBundle()
        let plan = try harness.plan("intermediate", rehearsal: false, expectedSPKI: spki)
        let database = try Data(contentsOf: URL(fileURLWithPath: "\(harness.media)/root-db/root-db.json"))
        let token = try harness.tokenFiles()
        // The words of another key (a CSR swapped on the media would come with such a printout).
        let otherSPKI = Hex.encode((Hex.decode(spki) ?? []).map { $0 ^ 0x5a })
        let expected = CeremonyHarness.printoutWords(spki)
        for (answer, reason) in [
            (CeremonyHarness.printoutWords(otherSPKI), "the typed words do not match the CSR's key"),
            // One word changed at the end: all 16 count.
            (
                (expected.split(separator: " ").dropLast() + [CeremonyHarness.printoutWords(otherSPKI).split(separator: " ")[15]]).joined(
                    separator: " "),
                "the typed words do not match the CSR's key"
            ),
            // Two neighbours swapped: each word list has its own column, so the tool says where.
            (
                {
                    var words = expected.split(separator: " ").map(String.init)
                    words.swapAt(2, 3)
                    return words.joined(separator: " ")
                }(),
                "word 3"
            ),
            // Only 8 words (64 bits).
            (expected.split(separator: " ").prefix(8).joined(separator: " "), "at least 16 are needed"),
        ] {
            let result = try harness.runPlan(plan, named: "i.yaml", answers: ["yes", answer], offline: true)
            #expect(!result.succeeded, "\(answer): \(result.output)")
            #expect(
                result.stderr.contains("not confirmed") && result.stderr.contains(reason) && result.stderr.contains("nothing was signed"),
                "\(answer): \(result.output)")
            // The words were never on the screen, before or after the refusal.
            #expect(!result.output.contains(expected.split(separator: " ").prefix(4).joined(separator: " ")), "\(result.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(harness.media)/intermediate-cert"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(harness.media)/root-db/root-db.json")) == database)
        let after = try harness.tokenFiles()
        #expect(
            after.count > 2 && after == token,
            "the token's objects changed although nothing was signed: \(after.keys.filter { after[$0] != token[$0] })")
        let transcript = try harness.run(["verify-transcript", harness.media])
        #expect(transcript.succeeded && !transcript.stdout.contains("intermediate.signed"), "\(transcript.output)")
        #expect(transcript.stdout.contains("ceremony.aborted"))
    }

    @Test("8 hex digits of the SPKI hash (the old confirmation) are refused")
    func hexRefused() throws {
        let harness = try withProductionRoot()
        defer { harness.remove() }
        let spki = try harness.writeCSRBundle()
        let plan = try harness.plan("intermediate", rehearsal: false, expectedSPKI: spki)
        for answer in [String(spki.prefix(8)), spki] {
            let result = try harness.runPlan(plan, named: "i.yaml", answers: ["yes", answer], offline: true)
            #expect(!result.succeeded && result.stderr.contains("hex digits are not accepted"), "\(result.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(harness.media)/intermediate-cert"))
    }

    @Test("the right words from the printout sign in a production ceremony; the screen showed neither words nor hash before")
    func rightWords() throws {
        let harness = try withProductionRoot()
        defer { harness.remove() }
        let spki = try harness.writeCSRBundle()
        let plan = try harness.plan("intermediate", rehearsal: false, expectedSPKI: spki)
        let words = CeremonyHarness.printoutWords(spki)
        // Typed in capitals with extra spaces, as a person might.
        let signed = try harness.runPlan(
            plan, named: "i.yaml", answers: ["yes", "  " + words.uppercased().replacingOccurrences(of: " ", with: "   ")], offline: true)
        #expect(signed.succeeded, "\(signed.output)")
        let beforePrompt = signed.stdout.components(separatedBy: "Type PGP words 1-16").first ?? ""
        #expect(signed.stdout.contains("Type PGP words 1-16"))
        #expect(
            !beforePrompt.contains(spki) && !beforePrompt.contains(words.split(separator: " ").prefix(2).joined(separator: " ")), "\(beforePrompt)")
        #expect(signed.stdout.contains("confirmed (16 PGP words typed from the printout)"))
        let verify = try harness.openssl.run([
            "verify", "-x509_strict", "-CAfile", "\(harness.media)/root/root-ca.crt", "\(harness.media)/intermediate-cert/intermediate-ca.crt",
        ])
        #expect(verify.succeeded, "\(verify.output)")
        let state = try Transcript.verify(path: "\(harness.media)/transcript.jsonl")
        let approved = try #require(state.entries.last { $0.event == "csr.approved" })
        #expect(approved.details["plan-check"] == "matched the plan's expected-spki-sha256")
        #expect(approved.details["confirmation"] == "16 PGP words typed from the printout")
    }

    @Test("a CSR whose key is not the plan's expected-spki-sha256 is refused before anything is asked")
    func swappedCSR() throws {
        let harness = try withProductionRoot()
        defer { harness.remove() }
        let printed = try harness.writeCSRBundle(directory: "printed")
        let plan = try harness.plan("intermediate", rehearsal: false, expectedSPKI: printed)
        // The media carries another CSR than the one the appliance printed.
        let swapped = try harness.writeCSRBundle()
        #expect(swapped != printed)
        let result = try harness.runPlan(plan, named: "i.yaml", answers: ["yes", CeremonyHarness.printoutWords(swapped)], offline: true)
        #expect(!result.succeeded && result.stderr.contains("does not match the expected SPKI SHA-256 \(printed)"), "\(result.output)")
        // The swapped CSR's own hash is never shown: it is the value under suspicion.
        #expect(!result.output.contains(swapped), "\(result.output)")
        #expect(!result.stdout.contains("Type PGP words"))
        #expect(!FileManager.default.fileExists(atPath: "\(harness.media)/intermediate-cert"))
    }
}
