import ArgumentParser
import BuildInfo
import CeremonyKit
import Foundation
import SecureFiles

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Execute a root, intermediate or crl ceremony from a reviewed plan.",
        discussion: """
            The environment (--env ENV.yaml, or the flags of the same names) says which PKCS#11 module
            and token to use and where the PIN comes from: prompt, fd:N, or file:/path (mode 0600).
            Confirmations (the clock, the previous transcript head from the paper log; for an intermediate,
            PGP words 1-16 of the CSR key's SPKI SHA-256 from the appliance operator's printout) are typed on
            standard input. Before anything is signed the media is checked against the root anchor in the
            token (docs/root-database.md); `ceremony recover` rebuilds a lost database.
            Example:
              ceremony run root.yaml --media /media/ROOTKEEPER --env env.yaml
              ceremony run intermediate.yaml --media /media/ROOTKEEPER --token root-ca --pin-source prompt
            """
    )

    @Argument(help: "The plan (YAML).")
    var plan: String

    @Option(help: "Media directory (removable media) holding bundles, root database and transcript.")
    var media: String

    @OptionGroup var environmentOptions: EnvironmentOptions

    @Flag(help: "Assert that this is a rehearsal: refused unless the plan itself says `rehearsal: true` (the plan decides).")
    var rehearsal = false

    @Option(name: .customLong("yes-i-have-checked"), help: "Rehearsal plans only: the CSR's SPKI SHA-256, instead of typing the PGP words.")
    var yesIHaveChecked: String?

    @Flag(name: .customLong("dry-run"), help: "Only check, as `ceremony check` does: the token is not opened and nothing is written.")
    var dryRun = false

    func run() async throws {
        do {
            // Before the PIN is read: no core file, no ptrace or /proc/<pid>/mem, even for
            // processes of the same user (the same protection `appliance serve` applies).
            try ProcessProtection.forbidCoreDumpsAndTracing()
            let environment = try environmentOptions.environment(rehearsal: rehearsal ? true : nil)
            if dryRun {
                try CheckCommand.check(plan: plan, media: media, environment: environment, preconfirmedSPKI: yesIHaveChecked)
                return
            }
            var runner = CeremonyRunner(
                planText: try readPlan(plan), environment: environment, media: media,
                preconfirmedSPKI: yesIHaveChecked)
            // The transcript names the exact binary that ran (Runbooks/ceremony-machine.md).
            runner.toolIdentity = try ToolIdentity.running(name: "ceremony")
            runner.planDocument = plan
            _ = try await runner.run()
        } catch let error as ExitCode {
            throw error
        } catch {
            throw reportFailure(error)
        }
    }
}
