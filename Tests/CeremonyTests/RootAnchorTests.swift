import CeremonyKit
import Foundation
import PKICore
import TestSupport
import Testing

/// Issue 11 part 2: the root database's integrity rests on the token's private anchor and the
/// witnesses' paper log, not on the (unkeyed, deletable) transcript. Every attack below is run
/// against the real `ceremony` binary and a SoftHSM token, and refused before the token signs
/// anything: no new CRL directory appears and the anchor object on the token is unchanged.
@Suite("The root database is anchored in the token")
struct RootAnchorTests {
    /// Root → intermediate → CRL 1 → CRL 2 revoking the intermediate, as in the report.
    struct Revoked {
        let harness: CeremonyHarness
        let serial: String
        let crlPlan: String
        /// The root database as it stood after CRL 1 (an "older copy").
        let databaseAfterCRL1: Data
        /// The transcript as it stood after CRL 1.
        let transcriptAfterCRL1: Data
        /// The token's anchor value after CRL 1 (as pkcs11-tool reads it).
        let anchorAfterCRL1: String?
        let rootSPKI: String
        var databasePath: String { "\(harness.media)/root-db/root-db.json" }
        var transcriptPath: String { "\(harness.media)/transcript.jsonl" }
    }

    static func revokedIntermediate() throws -> Revoked {
        let harness = try CeremonyHarness()
        let root = try harness.runPlan(harness.rootPlan(), named: "root.yaml")
        guard root.succeeded else { throw TestFailure(root.output) }
        let spki = try harness.writeCSRBundle()
        let signed = try harness.runPlan(try harness.plan("intermediate"), named: "i.yaml", answers: ["yes", CeremonyHarness.printoutWords(spki)])
        guard signed.succeeded else { throw TestFailure(signed.output) }
        let crlPlan = try harness.plan("crl")
        let first = try harness.runPlan(crlPlan, named: "crl.yaml")
        guard first.succeeded else { throw TestFailure(first.output) }
        let databaseAfterCRL1 = try Data(contentsOf: URL(fileURLWithPath: "\(harness.media)/root-db/root-db.json"))
        let transcriptAfterCRL1 = try Data(contentsOf: URL(fileURLWithPath: "\(harness.media)/transcript.jsonl"))
        let anchorAfterCRL1 = try anchorValue(harness)
        let serial = try harness.openssl.run(["x509", "-in", "\(harness.media)/intermediate-cert/intermediate-ca.crt", "-noout", "-serial"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
        let revoke = crlPlan.replacingOccurrences(of: "  revoke: []", with: "  revoke:\n    - serial: \"\(serial)\"\n      reason: keyCompromise")
        let second = try harness.runPlan(revoke, named: "crl-revoke.yaml")
        guard second.succeeded, second.stdout.contains("root CRL number 2 with 1 entries") else { throw TestFailure(second.output) }
        let database = try RootDatabase.decode(Data(contentsOf: URL(fileURLWithPath: "\(harness.media)/root-db/root-db.json")))
        return Revoked(
            harness: harness, serial: serial, crlPlan: crlPlan, databaseAfterCRL1: databaseAfterCRL1,
            transcriptAfterCRL1: transcriptAfterCRL1, anchorAfterCRL1: anchorAfterCRL1, rootSPKI: database.root.spkiSHA256)
    }

    /// The anchor's value as pkcs11-tool (OpenSC, an independent reader) reads it, logged in.
    static func anchorValue(_ harness: CeremonyHarness) throws -> String {
        let out = harness.work.file("anchor-\(UUID().uuidString).json")
        let read = try pkcs11Tool(
            harness,
            [
                "--login", "--pin", harness.token.userPIN, "--read-object", "--type", "data",
                "--label", RootAnchor.label, "--output-file", out,
            ])
        guard read.succeeded else { throw TestFailure("pkcs11-tool --read-object: \(read.output)") }
        return try String(contentsOfFile: out, encoding: .utf8)
    }

    static func pkcs11Tool(_ harness: CeremonyHarness, _ arguments: [String]) throws -> ExternalTool.Result {
        try ExternalTool("pkcs11-tool").run(
            ["--module", SoftHSMToken.modulePath, "--token-label", harness.token.label] + arguments, environment: harness.token.environment)
    }

    /// The attacker's edit of the report: no revocations, last CRL number 1, in canonical form.
    static func writeUnrevokedDatabase(_ setup: Revoked) throws {
        var database = try RootDatabase.decode(Data(contentsOf: URL(fileURLWithPath: setup.databasePath)))
        database.revoked = []
        database.lastCRLNumber = 1
        try database.encoded().write(to: URL(fileURLWithPath: setup.databasePath))
    }

    /// Runs the CRL plan once more and checks nothing was signed: no crl-2 (or crl-3) appeared and
    /// the anchor on the token is what it was.
    static func expectRefusedUnsigned(
        _ setup: Revoked, paperLog: [String]? = nil, because reason: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let anchorBefore = try anchorValue(setup.harness)
        let crlDirectoriesBefore = try crlDirectories(setup.harness)
        let answers = paperLog.map { ["yes"] + $0 } ?? ["yes"]
        let result = try setup.harness.runPlan(setup.crlPlan, named: "crl-again.yaml", answers: answers, paperLog: paperLog == nil)
        #expect(!result.succeeded, "\(result.output)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(reason), "expected '\(reason)' in: \(result.output)", sourceLocation: sourceLocation)
        #expect(
            result.stderr.contains("nothing was signed") || result.stderr.contains("ceremony recover"), "\(result.output)",
            sourceLocation: sourceLocation)
        #expect(!result.stdout.contains("root CRL number"), sourceLocation: sourceLocation)
        #expect(try crlDirectories(setup.harness) == crlDirectoriesBefore, sourceLocation: sourceLocation)
        #expect(try anchorValue(setup.harness) == anchorBefore, sourceLocation: sourceLocation)
    }

    /// What an insider with the PIN can do with pkcs11-tool: replace the anchor by an old value.
    static func restoreAnchor(_ value: String, on harness: CeremonyHarness) throws {
        let deleted = try pkcs11Tool(
            harness, ["--login", "--pin", harness.token.userPIN, "--delete-object", "--type", "data", "--label", RootAnchor.label])
        guard deleted.succeeded else { throw TestFailure("pkcs11-tool --delete-object: \(deleted.output)") }
        let file = harness.work.file("old-anchor-\(UUID().uuidString).json")
        try value.write(toFile: file, atomically: true, encoding: .utf8)
        let written = try pkcs11Tool(
            harness,
            [
                "--login", "--pin", harness.token.userPIN, "--write-object", file, "--type", "data", "--label", RootAnchor.label,
                "--application-label", RootAnchor.application, "--private",
            ])
        guard written.succeeded else { throw TestFailure("pkcs11-tool --write-object: \(written.output)") }
    }

    static func crlDirectories(_ harness: CeremonyHarness) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: harness.media).filter { $0.hasPrefix("crl") }.sorted()
    }

    @Test("the report's attack: transcript deleted, database un-revoked, crl-2 removed — refused, no CRL signed")
    func reportedAttack() throws {
        let setup = try Self.revokedIntermediate()
        defer { setup.harness.remove() }
        #expect(try Self.anchorValue(setup.harness).contains("\"last-crl-number\":2"))
        try FileManager.default.removeItem(atPath: setup.transcriptPath)
        try Self.writeUnrevokedDatabase(setup)
        try FileManager.default.removeItem(atPath: "\(setup.harness.media)/crl-2")
        try Self.expectRefusedUnsigned(setup, because: "no transcript on the media")
        #expect(!FileManager.default.fileExists(atPath: "\(setup.harness.media)/crl-2"))
        #expect(!FileManager.default.fileExists(atPath: setup.transcriptPath), "a refused start must not start a new transcript")
    }

    @Test("the attack with a forged transcript recording the edited database is refused by the token's anchor, even when its head is 'confirmed'")
    func forgedTranscript() throws {
        let setup = try Self.revokedIntermediate()
        defer { setup.harness.remove() }
        try FileManager.default.removeItem(atPath: setup.transcriptPath)
        try Self.writeUnrevokedDatabase(setup)
        try FileManager.default.removeItem(atPath: "\(setup.harness.media)/crl-2")
        // A consistent new chain: it records the edited database's hash as the last output.
        let forged = try Transcript(path: setup.transcriptPath, clock: SystemClock())
        let database = try RootDatabase.decode(Data(contentsOf: URL(fileURLWithPath: setup.databasePath)))
        try forged.append(
            actor: .init(role: "tool", name: "ceremony"), event: "crl.signed",
            outputs: ["root-db/root-db.json": try database.sha256()])
        // The officer types the forged head (no paper log check): the token still refuses.
        let forgedWords = Transcript.announce(head: forged.head).words
        try Self.expectRefusedUnsigned(setup, paperLog: [forgedWords], because: "it was cut")
    }

    @Test("a root database swapped for an older copy is refused")
    func olderDatabaseCopy() throws {
        let setup = try Self.revokedIntermediate()
        defer { setup.harness.remove() }
        try setup.databaseAfterCRL1.write(to: URL(fileURLWithPath: setup.databasePath))
        try Self.expectRefusedUnsigned(setup, because: "is not the root database the token's anchor records")
    }

    @Test("an edited root database (revocation removed, canonical form) is refused")
    func editedDatabase() throws {
        let setup = try Self.revokedIntermediate()
        defer { setup.harness.remove() }
        var database = try RootDatabase.decode(Data(contentsOf: URL(fileURLWithPath: setup.databasePath)))
        database.revoked = []
        try database.encoded().write(to: URL(fileURLWithPath: setup.databasePath))
        try Self.expectRefusedUnsigned(setup, because: "is not the root database the token's anchor records")
    }

    @Test("an insider who rolls back anchor, database and transcript together is still refused: root CRL 2 on the media is newer than the database")
    func databaseOlderThanMedia() throws {
        let setup = try Self.revokedIntermediate()
        defer { setup.harness.remove() }
        let harness = setup.harness
        // Someone with the PIN puts back the anchor as it was after CRL 1 (pkcs11-tool, private
        // again), with the matching transcript and database; crl-2 still lies on the media.
        try Self.restoreAnchor(try #require(setup.anchorAfterCRL1), on: harness)
        try setup.transcriptAfterCRL1.write(to: URL(fileURLWithPath: setup.transcriptPath))
        try setup.databaseAfterCRL1.write(to: URL(fileURLWithPath: setup.databasePath))
        let words = try #require(harness.paperLogWords())
        try Self.expectRefusedUnsigned(setup, paperLog: [words], because: "the media holds root CRL number 2")
    }

    @Test(
        "an insider who rolls everything back to before the intermediate ceremony is refused: the intermediate on the media is newer than the database"
    )
    func databaseOlderThanIssuedCertificate() throws {
        let harness = try CeremonyHarness()
        defer { harness.remove() }
        #expect(try harness.runPlan(harness.rootPlan(), named: "root.yaml").succeeded)
        let anchorAfterRoot = try Self.anchorValue(harness)
        let databasePath = "\(harness.media)/root-db/root-db.json"
        let transcriptPath = "\(harness.media)/transcript.jsonl"
        let databaseAfterRoot = try Data(contentsOf: URL(fileURLWithPath: databasePath))
        let transcriptAfterRoot = try Data(contentsOf: URL(fileURLWithPath: transcriptPath))
        let spki = try harness.writeCSRBundle()
        #expect(
            try harness.runPlan(try harness.plan("intermediate"), named: "i.yaml", answers: ["yes", CeremonyHarness.printoutWords(spki)]).succeeded)

        try Self.restoreAnchor(anchorAfterRoot, on: harness)
        try databaseAfterRoot.write(to: URL(fileURLWithPath: databasePath))
        try transcriptAfterRoot.write(to: URL(fileURLWithPath: transcriptPath))
        let result = try harness.runPlan(try harness.plan("crl"), named: "crl.yaml")
        #expect(!result.succeeded, "\(result.output)")
        #expect(result.stderr.contains("the media holds a certificate signed by this root that the root database does not list"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(harness.media)/crl"))
    }

    @Test("a truncated transcript is refused: by the paper log, and by the anchor when the cut head is typed")
    func truncatedTranscript() throws {
        let setup = try Self.revokedIntermediate()
        defer { setup.harness.remove() }
        let paperWords = try #require(setup.harness.paperLogWords())
        // Cut back to the state after CRL 1, and restore the matching older database: consistent media.
        try setup.transcriptAfterCRL1.write(to: URL(fileURLWithPath: setup.transcriptPath))
        try setup.databaseAfterCRL1.write(to: URL(fileURLWithPath: setup.databasePath))
        try FileManager.default.removeItem(atPath: "\(setup.harness.media)/crl-2")
        try Self.expectRefusedUnsigned(setup, paperLog: [paperWords], because: "which is not the head typed from the paper log")
        let cutWords = try #require(setup.harness.paperLogWords())
        try Self.expectRefusedUnsigned(setup, paperLog: [cutWords], because: "it was cut")
    }

    @Test("a deleted transcript (database intact) is refused before the token is touched")
    func deletedTranscript() throws {
        let setup = try Self.revokedIntermediate()
        defer { setup.harness.remove() }
        try FileManager.default.removeItem(atPath: setup.transcriptPath)
        try Self.expectRefusedUnsigned(setup, because: "no transcript on the media")
    }

    @Test("a wrongly typed paper-log head is refused and the transcript is not extended")
    func wrongPaperLog() throws {
        let setup = try Self.revokedIntermediate()
        defer { setup.harness.remove() }
        let before = try Data(contentsOf: URL(fileURLWithPath: setup.transcriptPath))
        try Self.expectRefusedUnsigned(
            setup, paperLog: ["aardvark adroitness aardvark adroitness aardvark adroitness aardvark adroitness"],
            because: "which is not the head typed from the paper log")
        #expect(try Data(contentsOf: URL(fileURLWithPath: setup.transcriptPath)) == before)
    }

    @Test("the anchor is a private token object: pkcs11-tool cannot see or read it without the PIN")
    func anchorIsPrivate() throws {
        let harness = try CeremonyHarness()
        defer { harness.remove() }
        #expect(try harness.runPlan(harness.rootPlan(), named: "root.yaml").succeeded)
        let withLogin = try Self.pkcs11Tool(harness, ["--login", "--pin", harness.token.userPIN, "--list-objects", "--type", "data"])
        #expect(withLogin.succeeded && withLogin.stdout.contains(RootAnchor.label), "\(withLogin.output)")
        let block = withLogin.stdout.components(separatedBy: "Data object").dropFirst().first { $0.contains(RootAnchor.label) } ?? ""
        #expect(block.contains("private"), "\(withLogin.stdout)")
        let anonymous = try Self.pkcs11Tool(harness, ["--list-objects", "--type", "data"])
        #expect(!anonymous.stdout.contains(RootAnchor.label), "\(anonymous.output)")
        let out = harness.work.file("stolen-anchor")
        let read = try Self.pkcs11Tool(harness, ["--read-object", "--type", "data", "--label", RootAnchor.label, "--output-file", out])
        // Refused because the object is invisible without a login (CKA_PRIVATE), while the same
        // read with the PIN (anchorValue below) returns it.
        #expect(!read.succeeded && read.output.contains("object not found"), "\(read.output)")
        #expect((try? Data(contentsOf: URL(fileURLWithPath: out)))?.isEmpty ?? true)
        let value = try Self.anchorValue(harness)
        #expect(value.contains("\"format\":\"rootkeeper-root-anchor/1\"") && value.contains("\"last-crl-number\":0"), "\(value)")
    }

    @Test("recovery: refused while the anchor's newest CRL is missing; witnessed rebuild; the next CRL carries the revocation forward")
    func recovery() throws {
        let setup = try Self.revokedIntermediate()
        defer { setup.harness.remove() }
        let harness = setup.harness
        let crl2 = harness.work.file("crl-2-copy")
        try FileManager.default.copyItem(atPath: "\(harness.media)/crl-2", toPath: crl2)
        // The media lost its database and transcript, and crl-2 with them.
        try FileManager.default.removeItem(atPath: setup.transcriptPath)
        try FileManager.default.removeItem(atPath: setup.databasePath)
        try FileManager.default.removeItem(atPath: "\(harness.media)/crl-2")
        func recover(_ typed: String) throws -> ExternalTool.Result {
            try harness.run(
                [
                    "recover", "--media", harness.media, "--module", SoftHSMToken.modulePath, "--token", harness.token.label,
                    "--pin-source", "file:\(harness.pinFile)", "--operator", "Test Officer", "--root-spki", setup.rootSPKI,
                ],
                stdin: "yes\n\(typed)\n")
        }
        let missing = try recover("1")
        #expect(!missing.succeeded && missing.stderr.contains("records root CRL number 2"), "\(missing.output)")
        #expect(!FileManager.default.fileExists(atPath: setup.databasePath) && !FileManager.default.fileExists(atPath: setup.transcriptPath))

        try FileManager.default.copyItem(atPath: crl2, toPath: "\(harness.media)/crl-2")
        let wrongWitness = try recover("1")
        #expect(!wrongWitness.succeeded && wrongWitness.stderr.contains("paper log's last root CRL"), "\(wrongWitness.output)")
        #expect(!FileManager.default.fileExists(atPath: setup.databasePath))

        let recovered = try recover("2")
        #expect(recovered.succeeded, "\(recovered.output)")
        #expect(recovered.stdout.contains("root database rebuilt: last root CRL 2, 1 revoked, 1 issued"), "\(recovered.output)")
        let transcript = try Transcript.verify(path: setup.transcriptPath)
        #expect(transcript.entries.map(\.event) == ["recovery.start", "database.recovered", "ceremony.end"])
        #expect(try Self.anchorValue(harness).contains("\"last-crl-number\":2"))

        // The legitimate path goes on: CRL 3 with the revocation carried forward.
        let next = try harness.runPlan(setup.crlPlan, named: "crl-3.yaml")
        #expect(next.succeeded && next.stdout.contains("root CRL number 3 with 1 entries"), "\(next.output)")
        let text = try harness.openssl.run([
            "crl", "-inform", "DER", "-in", "\(harness.media)/crl-3/root.crl", "-CAfile", "\(harness.media)/root/root-ca.crt", "-noout", "-text",
        ])
        #expect(text.output.contains("verify OK") && text.stdout.contains("Serial Number: \(setup.serial)"), "\(text.output)")
    }

    @Test("a second root ceremony on a token that already anchors a root is refused")
    func secondRootOnAnchoredToken() throws {
        let harness = try CeremonyHarness()
        defer { harness.remove() }
        #expect(try harness.runPlan(harness.rootPlan(), named: "root.yaml").succeeded)
        // Fresh media, same token.
        try FileManager.default.removeItem(atPath: harness.media)
        try FileManager.default.createDirectory(atPath: harness.media, withIntermediateDirectories: true)
        let again = try harness.runPlan(harness.rootPlan(label: "another-root"), named: "root2.yaml")
        #expect(!again.succeeded && again.stderr.contains("already holds a root anchor"), "\(again.output)")
    }
}
