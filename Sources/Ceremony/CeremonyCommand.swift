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
              ceremony check root.yaml --media /media/ROOTKEEPER --env env.yaml
              ceremony run root.yaml --media /media/ROOTKEEPER --module /usr/lib/softhsm/libsofthsm2.so \\
                --token root-ca --pin-source prompt --operator "A. Officer"
            """,
        version: RootkeeperBuild.versionText(tool: "ceremony"),
        subcommands: [
            RunCommand.self, CheckCommand.self, TemplateCommand.self, DevicesCommand.self, PreflightCommand.self,
            InspectCommand.self, VerifyTranscriptCommand.self, RecoverCommand.self,
        ]
    )
}

/// Prints a failure the way officers read it: one sentence, no stack, exit status 1.
func reportFailure(_ error: any Error) -> ExitCode {
    FileHandle.standardError.write(Data("ceremony: \(ErrorText.of(error))\n".utf8))
    return ExitCode.failure
}

/// The text of the plan at `path`, or an error that says what is wrong with the path.
func readPlan(_ path: String) throws -> String {
    try readDocument(path, what: "plan", hint: "give the path of the plan the witnesses reviewed (start one with `ceremony template root`)")
}

/// The text of a YAML document (plan or environment) at `path`, or an error naming the problem:
/// missing, a directory, or unreadable by this user.
func readDocument(_ path: String, what: String, hint: String) throws -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw CeremonyError(what == "plan" ? .invalidPlan : .invalidEnvironment, "the \(what) file \(path) does not exist: \(hint)")
    }
    guard !isDirectory.boolValue else {
        throw CeremonyError(what == "plan" ? .invalidPlan : .invalidEnvironment, "\(path) is a directory, not a \(what) file: \(hint)")
    }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CeremonyError(
            what == "plan" ? .invalidPlan : .invalidEnvironment,
            "cannot read the \(what) file \(path) (permission denied for this user): check its owner and mode with `ls -l \(path)`")
    }
    return String(decoding: data, as: UTF8.self)
}
