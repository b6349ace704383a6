import ArgumentParser
import CeremonyKit
import Foundation

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a plan, its environment and the media without touching the token (the checks `run` starts with).",
        discussion: """
            Validates everything `run` would before the token is opened: the plan (keys, values,
            validity, country codes), the environment (token named, PIN source well formed), the
            media (writable; for an intermediate or CRL plan the root bundle and database, the CSR
            bundle's MANIFEST, the CSR and its key against the plan, the validity under the root),
            and the transcript. It never loads the PKCS#11 module, never reads the PIN and writes
            nothing. `ceremony run --dry-run` is the same check.
            Example:
              ceremony check root.yaml --media /media/ROOTKEEPER --env env.yaml
            """
    )

    @Argument(help: "The plan (YAML).")
    var plan: String

    @Option(help: "Media directory (removable media) holding bundles, root database and transcript.")
    var media: String

    @OptionGroup var environmentOptions: EnvironmentOptions

    @Flag(help: "Assert that this is a rehearsal: refused unless the plan itself says `rehearsal: true`.")
    var rehearsal = false

    @Option(name: .customLong("yes-i-have-checked"), help: "As for `run` (rehearsal plans only).")
    var yesIHaveChecked: String?

    func run() throws {
        do {
            try Self.check(
                plan: plan, media: media, environment: environmentOptions.environment(rehearsal: rehearsal ? true : nil),
                preconfirmedSPKI: yesIHaveChecked)
        } catch let error as ExitCode {
            throw error
        } catch {
            throw reportFailure(error)
        }
    }

    /// Runs the check and prints what it checked (shared with `run --dry-run`).
    static func check(plan: String, media: String, environment: CeremonyEnvironment, preconfirmedSPKI: String?) throws {
        let text = try readPlan(plan)
        let checked = try CeremonyCheck(
            planText: text, planDocument: plan, environment: environment, media: media, preconfirmedSPKI: preconfirmedSPKI
        ).run()
        print("plan SHA-256: \(checked.planSHA256)")
        for line in checked.lines { print(line) }
        print("check: OK (the token was not opened and nothing was written)")
    }
}
