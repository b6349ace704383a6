import ApplianceKit
import ArgumentParser

/// Exits non-zero naming the library call a subcommand will make once the lead wires it, so no
/// caller mistakes an unwired command for success.
func notWired(_ call: String) throws -> Never {
    throw CommandFailure(ApplianceError.notWired(call).reason)
}

/// A failure message printed on stderr with exit code 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
