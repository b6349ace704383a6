import CeremonyKit
import Foundation
import PKICore
import SecureFiles
import TestSupport

/// A set-up for driving the real `ceremony` binary: a fresh SoftHSM token, a media directory, a
/// 0600 PIN file, and helpers to write plans and the CSR bundle an appliance would.
///
/// Rehearsal plans run on this (networked) machine; production plans run in a fresh network
/// namespace (`unshare -n`), where the machine is air-gapped, so the air-gap check passes for the
/// right reason and every other production rule applies.
struct CeremonyHarness {
    let token: SoftHSMToken
    let work: TemporaryDirectory
    let media: String
    let pinFile: String
    let ceremony: ExternalTool
    let openssl: ExternalTool

    init(label: String = "root-ca") throws {
        token = try SoftHSMToken(label: label)
        work = try TemporaryDirectory("ceremony")
        media = work.file("media")
        try FileManager.default.createDirectory(atPath: media, withIntermediateDirectories: true)
        pinFile = work.file("pin")
        FileManager.default.createFile(atPath: pinFile, contents: Data((token.userPIN + "\n").utf8), attributes: [.posixPermissions: 0o600])
        ceremony = try ProductBinary.tool("ceremony")
        openssl = try ExternalTool("openssl")
    }

    func remove() {
        token.remove()
        work.remove()
    }

    /// Runs `ceremony` with the token's SOFTHSM2_CONF.
    @discardableResult
    func run(_ arguments: [String], stdin: String = "") throws -> ExternalTool.Result {
        try ceremony.run(arguments, stdin: Data(stdin.utf8), environment: token.environment)
    }

    /// Runs a plan with the PIN file, typing `answers` (one per line). `offline` runs it in a
    /// fresh network namespace (needed for production plans on this networked machine).
    ///
    /// With `paperLog` (the default), a plan other than a root plan on media that has a transcript
    /// gets the paper log's words typed after the clock confirmation, as the officer does: the
    /// head the last run announced (``paperLogWords()``).
    @discardableResult
    func runPlan(
        _ planText: String, named name: String, answers: [String] = ["yes"], pinSource: String? = nil, paperLog: Bool = true,
        offline: Bool = false, extra: [String] = []
    ) throws -> ExternalTool.Result {
        let path = work.file(name)
        try planText.write(toFile: path, atomically: true, encoding: .utf8)
        var typed = answers
        if paperLog, !planText.contains("ceremony: root"), let words = paperLogWords(), !typed.isEmpty {
            typed.insert(words, at: 1)
        }
        let arguments =
            [
                "run", path, "--media", media, "--module", SoftHSMToken.modulePath, "--token", token.label,
                "--pin-source", pinSource ?? "file:\(pinFile)", "--operator", "Test Officer",
            ] + extra
        let stdin = typed.map { $0 + "\n" }.joined()
        guard offline else { return try run(arguments, stdin: stdin) }
        return try ExternalTool("unshare").run(
            ["-n", ProductBinary.path("ceremony")] + arguments, stdin: Data(stdin.utf8), environment: token.environment)
    }

    /// What the witnesses wrote in the paper log at the close of the last run: the PGP words of
    /// the transcript head it announced (nil without a transcript, or with one that does not verify).
    func paperLogWords() -> String? {
        guard let state = try? Transcript.verify(path: "\(media)/transcript.jsonl"), state.count > 0 else { return nil }
        return Transcript.announce(head: state.head).words
    }

    func rootPlan(algorithm: String = "p384", label: String = "root-2026", rehearsal: Bool = true) -> String {
        PlanTemplate.text(for: .root, rehearsal: rehearsal)
            .replacingOccurrences(of: "algorithm: rsa4096", with: "algorithm: \(algorithm)")
            .replacingOccurrences(of: "label: root-ca-2026", with: "label: \(label)")
    }

    /// The template for `kind`, filled from the media's root database as `ceremony template --media`
    /// does: a rehearsal plan unless `rehearsal` is false; `expectedSPKI` as from the printout.
    func plan(_ kind: String, rehearsal: Bool = true, expectedSPKI: String? = nil) throws -> String {
        let result = try run(
            ["template", kind, "--media", media] + (rehearsal ? ["--rehearsal"] : [])
                + (expectedSPKI.map { ["--expected-spki-sha256", $0] } ?? []))
        guard result.succeeded else { throw TestFailure("template failed: \(result.output)") }
        return result.stdout
    }

    /// PGP words 1-16 of `spki` (hex), as the officer reads them from the appliance's printout.
    static func printoutWords(_ spki: String) -> String {
        KeyConfirmation(spkiSHA256: Hex.decode(spki) ?? []).words.prefix(16).joined(separator: " ")
    }

    /// The bytes of every object file of the token directory, to show a refused ceremony left
    /// every key and data object as it was (SoftHSM's `token.object` holds the token's own
    /// flags and is rewritten at each login, so it is left out).
    func tokenFiles() throws -> [String: Data] {
        let root = token.directory.file("tokens")
        var result: [String: Data] = [:]
        for relative in try FileManager.default.subpathsOfDirectory(atPath: root) {
            let path = "\(root)/\(relative)"
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                !relative.hasSuffix("/token.object")
            else { continue }
            result[relative] = try Data(contentsOf: URL(fileURLWithPath: path))
        }
        return result
    }

    /// Writes `<media>/intermediate-csr` as `appliance init` does: a P-256 CSR (made by openssl,
    /// requesting CA:TRUE pathLen 5 to show the profile wins) in a bundle with MANIFEST.
    /// Returns the CSR key's SPKI SHA-256.
    @discardableResult
    func writeCSRBundle(directory: String = "intermediate-csr", csrBytes: [UInt8]? = nil) throws -> String {
        let keyPath = work.file("intermediate.key")
        let csrPath = work.file("intermediate.csr")
        let made = try openssl.run([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyPath,
            "-subj", "/CN=Example Intermediate CA/O=Example Corp", "-addext", "basicConstraints=critical,CA:TRUE,pathlen:5",
            "-out", csrPath,
        ])
        guard made.succeeded else { throw TestFailure("openssl req failed: \(made.output)") }
        let csr = try csrBytes ?? SecureFile.read(csrPath)
        let bundle = try MediaBundle(payload: ["intermediate.csr": csr], summary: "Intermediate CA CSR from the test appliance\n")
        try BundleDirectory.write(bundle, to: "\(media)/\(directory)")
        let decoded = try CSRDecoder.decode(try SecureFile.read(csrPath))
        return decoded.publicKey.spkiSHA256Hex
    }
}
