import ArgumentParser
import BuildInfo
import CeremonyKit
import Foundation

/// `ceremony`: the offline root CA tool (docs/commands.md#ceremony). Parses input, calls CeremonyKit, prints results.
@main
struct CeremonyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ceremony",
        abstract: "Run scripted root CA key ceremonies on an air-gapped machine with a PKCS#11 token.",
        discussion: """
            A ceremony is a reviewed plan (YAML) plus an environment (module, token, PIN source).
            PINs are never read from the plan, the command line or a log.

            Whether a ceremony is a rehearsal is part of the plan (`ceremony template` makes production
            plans; `--rehearsal` makes rehearsal ones).

            Example rehearsal:
              ceremony template root --rehearsal > root.yaml
              ceremony run root.yaml --media /media/ROOTKEEPER --module /usr/lib/softhsm/libsofthsm2.so \\
                --token root-ca --pin-source prompt --operator "A. Officer"
            """,
        version: RootkeeperBuild.versionText(tool: "ceremony"),
        subcommands: [
            RunCommand.self, TemplateCommand.self, DevicesCommand.self, PreflightCommand.self,
            InspectCommand.self, VerifyTranscriptCommand.self, RecoverCommand.self,
        ]
    )
}

/// Prints a failure the way officers read it: one sentence, no stack, exit status 1.
func reportFailure(_ error: any Error) -> ExitCode {
    FileHandle.standardError.write(Data("ceremony: \(error)\n".utf8))
    return ExitCode.failure
}
