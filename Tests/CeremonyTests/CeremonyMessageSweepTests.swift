import CeremonyKit
import Foundation
import TestSupport
import Testing

/// Issue 18, "error messages for people": the common mistakes an officer makes with the real
/// `ceremony` binary each get one message that names the problem and the fix, without internal
/// type names (`functionFailed:`, `objectExists:`) or raw Foundation errors (`Error Domain=…`).
@Suite("Ceremony mistakes get messages that name the problem and the fix")
struct CeremonyMessageSweepTests {
    /// Text that must never reach an officer: internal error categories and type names, and
    /// Foundation's or Swift's raw renderings of errors.
    static let internals = [
        "Error Domain=", "NSCocoaErrorDomain", "NSPOSIXErrorDomain", "Code=", "UserInfo=", "functionFailed", "objectExists",
        "moduleLoadFailed", "tokenNotFound", "invalidParameter:", "invalidSecretSource", "insecurePermissions", "ioFailure",
        "CeremonyError", "PKCS11Error", "SecureFileError", "PKIError", "DecodingError", "Optional(",
    ]

    struct Mistake: CustomStringConvertible {
        let description: String
        let arguments: [String]
        var environment: [String: String] = [:]
        var stdin = ""
        /// Words that name the problem, and words that name the fix (all must appear, case-insensitively).
        let problem: [String]
        let fix: [String]
    }

    @Test("each common mistake is refused with the problem and the fix named, and nothing internal")
    func sweep() throws {
        let h = try CeremonyHarness()
        defer { h.remove() }
        let plan = h.work.file("root.yaml")
        try h.rootPlan().write(toFile: plan, atomically: true, encoding: .utf8)
        let env = h.work.file("env.yaml")
        try "module: \(SoftHSMToken.modulePath)\ntoken: \(h.token.label)\npin-source: file:\(h.pinFile)\n".write(
            toFile: env, atomically: true, encoding: .utf8)
        let openPIN = h.work.file("open-pin")
        FileManager.default.createFile(atPath: openPIN, contents: Data("1234\n".utf8), attributes: [.posixPermissions: 0o644])
        let typo = h.work.file("typo.yaml")
        try h.rootPlan().replacingOccurrences(of: "validity-years", with: "validty-years").write(toFile: typo, atomically: true, encoding: .utf8)
        let badEnv = h.work.file("bad-env.yaml")
        try "modul: /usr/lib/x.so\ntoken: root-ca\n".write(toFile: badEnv, atomically: true, encoding: .utf8)
        let media = ["--media", h.media]
        let token = ["--token", h.token.label, "--pin-source", "file:\(h.pinFile)"]
        let mistakes = [
            Mistake(
                description: "plan file missing", arguments: ["check", h.work.file("nope.yaml")] + media + token,
                problem: ["nope.yaml", "does not exist"], fix: ["ceremony template"]),
            Mistake(
                description: "plan is a directory", arguments: ["run", h.work.path] + media + token,
                problem: ["is a directory"], fix: ["path of the plan"]),
            Mistake(
                description: "environment file missing", arguments: ["run", plan, "--env", h.work.file("nope-env.yaml")] + media,
                problem: ["nope-env.yaml", "does not exist"], fix: ["--env", "--token"]),
            Mistake(
                description: "misspelt plan key",
                arguments: ["check", plan.replacingOccurrences(of: "root.yaml", with: "typo.yaml")] + media + token,
                problem: ["unknown key", "root.validty-years"], fix: ["docs/ceremony.md"]),
            Mistake(
                description: "misspelt environment key", arguments: ["check", plan, "--env", badEnv] + media,
                problem: ["unknown key 'modul'"], fix: ["docs/ceremony.md"]),
            Mistake(
                description: "media missing", arguments: ["check", plan, "--media", h.work.file("no-media")] + token,
                problem: ["no-media", "does not exist"], fix: ["mount", "--media"]),
            Mistake(
                description: "PIN given instead of a PIN source",
                arguments: ["check", plan] + media + ["--token", h.token.label, "--pin-source", "123456"],
                problem: ["pin-source", "a secret itself is never accepted"], fix: ["prompt", "fd:N", "file:/"]),
            Mistake(
                description: "PIN file readable by others",
                arguments: ["check", plan] + media + ["--token", h.token.label, "--pin-source", "file:\(openPIN)"],
                problem: ["0644"], fix: ["chmod 600"]),
            Mistake(
                description: "PIN file missing",
                arguments: ["check", plan] + media + ["--token", h.token.label, "--pin-source", "file:\(h.work.file("no-pin"))"],
                problem: ["no-pin", "No such file"], fix: ["pin-source"]),
            Mistake(
                description: "no token named", arguments: ["check", plan] + media + ["--pin-source", "file:\(h.pinFile)"],
                problem: ["no token given"], fix: ["--token"]),
            Mistake(
                description: "module missing", arguments: ["run", plan] + media + token + ["--module", "/nonexistent/libpkcs11.so"], stdin: "yes\n",
                problem: ["/nonexistent/libpkcs11.so"], fix: ["--module", "PKCS#11 library"]),
            Mistake(
                description: "module cannot start", arguments: ["run", plan] + media + token,
                environment: ["SOFTHSM2_CONF": "/nonexistent/softhsm2.conf"],
                stdin: "yes\n", problem: ["could not start", "C_Initialize failed"], fix: ["SOFTHSM2_CONF"]),
            Mistake(
                description: "wrong token label",
                arguments: ["run", plan] + media + ["--token", "no-such-token", "--pin-source", "file:\(h.pinFile)"],
                environment: h.token.environment, stdin: "yes\n", problem: ["no-such-token", h.token.label], fix: ["ceremony devices"]),
            Mistake(
                description: "misspelt flag", arguments: ["run", plan] + media + token + ["--modul", SoftHSMToken.modulePath],
                problem: ["--modul"], fix: ["--help"]),
            Mistake(
                description: "missing --media", arguments: ["check", plan] + token,
                problem: ["--media"], fix: ["--help"]),
            Mistake(
                description: "unknown ceremony kind", arguments: ["template", "rooot"],
                problem: ["rooot"], fix: ["root", "intermediate", "crl"]),
            Mistake(
                description: "inspect of a missing file", arguments: ["inspect", h.work.file("missing.crt")],
                problem: ["missing.crt", "does not exist"], fix: ["certificate, CSR or CRL file"]),
            Mistake(
                description: "verify-transcript without a transcript", arguments: ["verify-transcript", h.work.file("empty-media")],
                problem: ["no transcript at"], fix: ["media directory"]),
            Mistake(
                description: "rehearsal flag on a production plan",
                arguments: ["check", plan.replacingOccurrences(of: "root.yaml", with: "live.yaml")] + media + token + ["--rehearsal"],
                problem: ["rehearsal: true", "rehearsal: false"], fix: ["ceremony template"]),
        ]
        try h.rootPlan(rehearsal: false).write(toFile: h.work.file("live.yaml"), atomically: true, encoding: .utf8)

        for mistake in mistakes {
            let result = try h.ceremony.run(
                mistake.arguments, stdin: Data(mistake.stdin.utf8),
                environment: mistake.environment.isEmpty ? h.token.environment : mistake.environment)
            #expect(!result.succeeded, "\(mistake): accepted: \(result.output)")
            let message = result.stderr
            for word in mistake.problem + mistake.fix {
                #expect(message.lowercased().contains(word.lowercased()), "\(mistake): '\(word)' is not named in: \(message)")
            }
            for name in Self.internals {
                #expect(!message.contains(name), "\(mistake): '\(name)' in: \(message)")
            }
            // One failure, said once: no stack trace, no Swift error dump.
            #expect(!message.contains("Fatal error") && !message.contains("Stack dump"), "\(mistake): \(message)")
        }
    }

    @Test("a key label already on the token is named with the fix, not as objectExists")
    func labelTaken() throws {
        let h = try CeremonyHarness()
        defer { h.remove() }
        // A key made outside the tool with the plan's label (and no root-kind marker: a production
        // plan accepts such a token, so only the label rule can refuse).
        let made = try ExternalTool("pkcs11-tool").run(
            [
                "--module", SoftHSMToken.modulePath, "--token-label", h.token.label, "--login", "--pin", h.token.userPIN,
                "--keypairgen", "--key-type", "EC:secp384r1", "--label", "root-2026", "--id", "07",
            ],
            environment: h.token.environment)
        try #require(made.succeeded, "\(made.output)")
        let result = try h.runPlan(h.rootPlan(rehearsal: false), named: "root.yaml", offline: true)
        #expect(!result.succeeded, "\(result.output)")
        #expect(
            result.stderr.contains("already holds an object labelled \"root-2026\"") && result.stderr.contains("choose another root.key.label"),
            "\(result.output)")
        for name in Self.internals { #expect(!result.stderr.contains(name), "'\(name)' in: \(result.stderr)") }
    }
}
