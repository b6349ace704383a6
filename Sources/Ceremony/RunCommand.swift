import ArgumentParser
import BuildInfo
import CeremonyKit
import Foundation

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Execute a root, intermediate or crl ceremony from a reviewed plan.",
        discussion: """
            The environment (--env ENV.yaml, or the flags of the same names) says which PKCS#11 module
            and token to use and where the PIN comes from: prompt, fd:N, or file:/path (mode 0600).
            Confirmations (the clock, the CSR's key) are typed on standard input.
            Example:
              ceremony run root.yaml --media /media/ROOTKEEPER --env env.yaml
              ceremony run intermediate.yaml --media /media/ROOTKEEPER --token root-ca --pin-source prompt
            """
    )

    @Argument(help: "The plan (YAML).")
    var plan: String

    @Option(help: "Media directory (removable media) holding bundles, root database and transcript.")
    var media: String

    @Option(help: "Environment file (YAML): module, token, pin-source, operator, rehearsal.")
    var env: String?

    @Option(help: "PKCS#11 module path (overrides the environment).")
    var module: String?

    @Option(help: "Token label, serial or pkcs11: URI (overrides the environment).")
    var token: String?

    @Option(name: .customLong("pin-source"), help: "prompt, fd:N or file:/path (overrides the environment).")
    var pinSource: String?

    @Option(name: .customLong("operator"), help: "The officer operating the tool, for the transcript.")
    var operatorName: String?

    @Flag(help: "Mark this run as a rehearsal (relaxes only the air-gap refusal).")
    var rehearsal = false

    @Option(name: .customLong("yes-i-have-checked"), help: "Rehearsals only: the CSR's SPKI SHA-256, instead of typing the confirmation.")
    var yesIHaveChecked: String?

    func run() async throws {
        do {
            guard let planData = FileManager.default.contents(atPath: plan) else {
                throw CeremonyError.plan("cannot read the plan \(plan)")
            }
            var environment = CeremonyEnvironment()
            if let env {
                guard let envData = FileManager.default.contents(atPath: env) else {
                    throw CeremonyError.environment("cannot read the environment \(env)")
                }
                environment = try CeremonyEnvironment.load(text: String(decoding: envData, as: UTF8.self), document: env)
            }
            environment = environment.overridden(by: CeremonyEnvironment(
                module: module, token: token, pinSource: pinSource, operator: operatorName, rehearsal: rehearsal ? true : nil))
            var runner = CeremonyRunner(
                planText: String(decoding: planData, as: UTF8.self), environment: environment, media: media,
                preconfirmedSPKI: yesIHaveChecked)
            // The transcript names the exact binary that ran (Runbooks/ceremony-machine.md).
            runner.toolIdentity = try ToolIdentity.running(name: "ceremony")
            _ = try await runner.run()
        } catch let error as ExitCode {
            throw error
        } catch {
            throw reportFailure(error)
        }
    }
}
