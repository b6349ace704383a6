import ArgumentParser
import CeremonyKit
import Foundation

/// The options that say where a ceremony runs (`--env` and the flags that override it), shared by
/// `run` and `recover`.
struct EnvironmentOptions: ParsableArguments {
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

    /// The environment file (strictly decoded) with the flags applied.
    func environment(rehearsal: Bool? = nil) throws -> CeremonyEnvironment {
        var environment = CeremonyEnvironment()
        if let env {
            let text = try readDocument(
                env, what: "environment",
                hint: "give the environment file (module, token, pin-source, operator) with --env, or the flags --module, --token, --pin-source")
            environment = try CeremonyEnvironment.load(text: text, document: env)
        }
        return environment.overridden(
            by: CeremonyEnvironment(
                module: module, token: token, pinSource: pinSource, operator: operatorName, rehearsal: rehearsal))
    }
}
