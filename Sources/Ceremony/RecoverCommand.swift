import ArgumentParser
import CeremonyKit
import Foundation

struct RecoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Rebuild a lost or refused root database from the root's CRLs and certificates on the media (witnessed).",
        discussion: """
            Run with the officers and witnesses present (Runbooks/root-crl-reissue.md §5).
            Needs the token and its PIN, the root key's SPKI SHA-256 from the paper log,
            and the last root CRL number from the paper log, typed at the prompt.
            The previous transcript and database are kept as transcript-before-recovery-N.jsonl
            and root-db/root-db-before-recovery-N.json.
            Example:
              ceremony recover --media /media/ROOTKEEPER --env env.yaml --root-spki 3f2a…
            """
    )

    @Option(help: "Media directory holding the root bundle and the CRL and certificate bundles.")
    var media: String

    @OptionGroup var environmentOptions: EnvironmentOptions

    @Option(
        name: .customLong("root-spki"), help: "The root from the paper log of the root ceremony: its SPKI SHA-256, certificate SHA-256 or agent pin.")
    var rootSPKI: String

    func run() throws {
        do {
            let environment = try environmentOptions.environment()
            _ = try RootDatabaseRecovery(media: media, environment: environment, rootSPKISHA256: rootSPKI).run()
        } catch let error as ExitCode {
            throw error
        } catch {
            throw reportFailure(error)
        }
    }
}
