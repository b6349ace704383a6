/// The one error the test support and harnesses throw when a fixture cannot be set up or a tool
/// did not do what the test needs; its description is the whole story (command output included),
/// so a failing test says what went wrong without a debugger.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
