import CeremonyKit
import Foundation
import PKICore
import TestSupport
import Testing

/// Issue 11 part 5: `rehearsal` belongs to the reviewed, hashed plan; the token records whether
/// its root is a production or rehearsal root, and the two never mix. Against the real `ceremony`
/// binary and SoftHSM; production plans run in a fresh network namespace (air-gapped).
@Suite("Rehearsal is the plan's to say, and a rehearsal never touches a production root")
struct RehearsalPlanTests {
    @Test("ceremony template makes production plans unless --rehearsal is given")
    func templateDefaults() throws {
        let ceremony = try ProductBinary.tool("ceremony")
        for kind in ["root", "intermediate", "crl"] {
            let production = try ceremony.run(["template", kind])
            #expect(production.succeeded && production.stdout.contains("\nrehearsal: false\n"), "\(production.output)")
            #expect(
                try CeremonyPlan.load(
                    text: production.stdout.replacingOccurrences(of: "\"REPLACE\"", with: "\"\(String(repeating: "ab", count: 32))\"")
                ).isRehearsal == false)
            let rehearsal = try ceremony.run(["template", kind, "--rehearsal"])
            #expect(rehearsal.succeeded && rehearsal.stdout.contains("\nrehearsal: true\n"), "\(rehearsal.output)")
        }
        let bad = try ceremony.run(["template", "root", "--expected-spki-sha256", String(repeating: "ab", count: 32)])
        #expect(!bad.succeeded && bad.stderr.contains("intermediate plans only"), "\(bad.output)")
    }

    @Test("a rehearsal plan on a token holding a production root is refused before anything is signed")
    func rehearsalOnProductionToken() throws {
        let harness = try CeremonyHarness()
        defer { harness.remove() }
        let root = try harness.runPlan(harness.rootPlan(rehearsal: false), named: "root.yaml", offline: true)
        try #require(root.succeeded, "\(root.output)")
        // pkcs11-tool, not our code, sees the marker next to the key: private, not modifiable, "production".
        let pkcs11Tool = try ExternalTool("pkcs11-tool")
        let login = ["--module", SoftHSMToken.modulePath, "--token-label", harness.token.label, "--login", "--pin", harness.token.userPIN]
        let objects = try pkcs11Tool.run(login + ["--list-objects", "--type", "data"], environment: harness.token.environment)
        #expect(objects.stdout.contains("label:          'rootkeeper-root-kind'"), "\(objects.output)")
        // The token also holds the root anchor (docs/root-database.md), which is modifiable: look
        // at the marker's own entry only.
        let marker = objects.stdout.components(separatedBy: "Data object").first { $0.contains("'rootkeeper-root-kind'") } ?? ""
        #expect(marker.contains("flags:") && marker.contains("private") && !marker.contains("modifiable"), "\(objects.output)")
        let value = try pkcs11Tool.run(
            login + ["--read-object", "--type", "data", "--label", "rootkeeper-root-kind"], environment: harness.token.environment)
        #expect(value.stdout == "production", "\(value.output)")

        let crlDirectory = "\(harness.media)/crl"
        let spki = try harness.writeCSRBundle()
        for (kind, answers) in [("crl", ["yes"]), ("intermediate", ["yes", CeremonyHarness.printoutWords(spki)])] {
            let result = try harness.runPlan(try harness.plan(kind, rehearsal: true), named: "\(kind).yaml", answers: answers)
            #expect(!result.succeeded, "\(result.output)")
            #expect(
                result.stderr.contains("this token holds a PRODUCTION root") && result.stderr.contains("rehearsal plan is refused"),
                "\(result.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: crlDirectory))
        #expect(!FileManager.default.fileExists(atPath: "\(harness.media)/intermediate-cert"))
        // Even offline (air-gapped) the refusal stands: it is about the token, not the network.
        let offline = try harness.runPlan(try harness.plan("crl", rehearsal: true), named: "crl2.yaml", offline: true)
        #expect(!offline.succeeded && offline.stderr.contains("PRODUCTION root"), "\(offline.output)")
        // The production plan still runs.
        let production = try harness.runPlan(try harness.plan("crl", rehearsal: false), named: "crl3.yaml", offline: true)
        #expect(production.succeeded, "\(production.output)")
    }

    @Test("a production plan on a token holding a rehearsal root is refused")
    func productionOnRehearsalToken() throws {
        let harness = try CeremonyHarness()
        defer { harness.remove() }
        try #require(try harness.runPlan(harness.rootPlan(), named: "root.yaml").succeeded)
        let result = try harness.runPlan(try harness.plan("crl", rehearsal: false), named: "crl.yaml", offline: true)
        #expect(!result.succeeded && result.stderr.contains("this token holds a REHEARSAL root"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(harness.media)/crl"))
    }

    @Test("a rehearsal is refused on a token with private keys but no marker (its root may be a production one)")
    func rehearsalOnUnmarkedToken() throws {
        let harness = try CeremonyHarness()
        defer { harness.remove() }
        // A key made outside the ceremony (as an older root would have been), with no marker.
        let keygen = try ExternalTool("pkcs11-tool").run(
            [
                "--module", SoftHSMToken.modulePath, "--token-label", harness.token.label, "--login", "--pin", harness.token.userPIN,
                "--keypairgen", "--key-type", "EC:secp384r1", "--label", "old-root", "--id", "09",
            ],
            environment: harness.token.environment)
        try #require(keygen.succeeded, "\(keygen.output)")
        let result = try harness.runPlan(harness.rootPlan(), named: "root.yaml")
        #expect(!result.succeeded && result.stderr.contains("no rootkeeper-root-kind marker"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(harness.media)/root"))
    }

    @Test("rehearsal is part of the plan hash recorded in the transcript, and the environment cannot override it")
    func rehearsalInPlanHash() throws {
        let rehearsalHarness = try CeremonyHarness()
        defer { rehearsalHarness.remove() }
        let productionHarness = try CeremonyHarness()
        defer { productionHarness.remove() }
        let rehearsalPlan = rehearsalHarness.rootPlan(rehearsal: true)
        // The same plan with only the flag changed.
        let productionPlan = rehearsalPlan.replacingOccurrences(of: "\nrehearsal: true\n", with: "\nrehearsal: false\n")
        try #require(productionPlan != rehearsalPlan)
        #expect(try rehearsalHarness.runPlan(rehearsalPlan, named: "root.yaml").succeeded)
        #expect(try productionHarness.runPlan(productionPlan, named: "root.yaml", offline: true).succeeded)

        let sha256sum = try ExternalTool("sha256sum")
        var recorded: [String] = []
        for (harness, expected) in [(rehearsalHarness, "true"), (productionHarness, "false")] {
            let state = try Transcript.verify(path: "\(harness.media)/transcript.jsonl")
            let start = try #require(state.entries.first { $0.event == "ceremony.start" })
            let independent = try sha256sum.run([harness.work.file("root.yaml")]).stdout.prefix(64)
            #expect(start.inputs["plan"] == String(independent), "the transcript's plan hash is not the file's SHA-256")
            #expect(start.details["rehearsal"] == expected)
            let kind = try #require(state.entries.first { $0.event == "key.generated" })
            #expect(kind.details["root-kind"] == (expected == "true" ? "rehearsal" : "production"))
            recorded.append(start.inputs["plan"] ?? "")
        }
        #expect(recorded[0] != recorded[1], "changing only `rehearsal` must change the plan hash")

        // --rehearsal (or `rehearsal: true` in the environment) cannot turn a production plan into a rehearsal.
        let third = try CeremonyHarness()
        defer { third.remove() }
        let overridden = try third.runPlan(productionPlan, named: "root.yaml", extra: ["--rehearsal"])
        #expect(!overridden.succeeded && overridden.stderr.contains("the plan decides"), "\(overridden.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(third.media)/root"))
    }
}
