import ArgumentParser
import CeremonyKit
import Foundation

struct RecoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Rebuild a lost or refused root database from the root's CRLs and certificates on the media (witnessed).",
        discussion: """
            Run with the officers and witnesses present (Runbooks/root-crl-reissue.md, "Recovering the root
            database"). Needs the token and its PIN, the root key's SPKI SHA-256 from the paper log, and the
            last root CRL number from the paper log (typed at the prompt). The previous transcript and
            database, if any, are kept beside the new ones as transcript-before-recovery-N.jsonl and
            root-db/root-db-before-recovery-N.json.
            Example:
              ceremony recover --media /media/ROOTKEEPER --env env.yaml --root-spki 3f2a…
            """
    )

    @Option(help: "Media directory holding the root bundle and the CRL and certificate bundles.")
    var media: String

    @Option(help: "Environment file (YAML): module, token, pin-source, operator.")
    var env: String?

    @Option(help: "PKCS#11 module path (overrides the environment).")
    var module: String?

    @Option(help: "Token label, serial or pkcs11: URI (overrides the environment).")
    var token: String?

    @Option(name: .customLong("pin-source"), help: "prompt, fd:N or file:/path (overrides the environment).")
    var pinSource: String?

    @Option(name: .customLong("operator"), help: "The officer operating the tool, for the transcript.")
    var operatorName: String?

    @Option(name: .customLong("root-spki"), help: "The root key's SPKI SHA-256, from the paper log of the root ceremony.")
    var rootSPKI: String

    func run() throws {
        do {
            var environment = CeremonyEnvironment()
            if let env {
                guard let envData = FileManager.default.contents(atPath: env) else {
                    throw CeremonyError.environment("cannot read the environment \(env)")
                }
                environment = try CeremonyEnvironment.load(text: String(decoding: envData, as: UTF8.self), document: env)
            }
            environment = environment.overridden(by: CeremonyEnvironment(module: module, token: token, pinSource: pinSource, operator: operatorName))
            _ = try RootDatabaseRecovery(media: media, environment: environment, rootSPKISHA256: rootSPKI).run()
        } catch let error as ExitCode {
            throw error
        } catch {
            throw reportFailure(error)
        }
    }
}
