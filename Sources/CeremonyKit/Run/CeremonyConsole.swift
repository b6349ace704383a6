import Foundation

/// How the ceremony talks to the people in the room: lines to show, and typed answers.
///
/// Confirmations are typed on standard input so a scripted rehearsal (and the runbook tests) can
/// feed exactly what a person would type. PINs never come through here (see ``PINSource``).
public protocol CeremonyConsole: Sendable {
    /// Shows one line.
    func show(_ line: String)
    /// Shows `prompt` and returns the typed line without its newline, or nil at end of input.
    func ask(_ prompt: String) -> String?
}

/// The terminal: standard output for lines, standard input for answers.
public struct StandardConsole: CeremonyConsole {
    public init() {}

    public func show(_ line: String) {
        print(line)
        fflush(nil)
    }

    public func ask(_ prompt: String) -> String? {
        print(prompt, terminator: " ")
        fflush(nil)
        return readLine(strippingNewline: true)
    }
}
