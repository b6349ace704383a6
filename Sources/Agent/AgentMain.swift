import ArgumentParser
import BuildInfo

/// Entry point: parses and runs ``AgentCommand``; a failure is printed as a sentence for
/// people (``PeopleMessage``), exit status 1.
@main
enum AgentMain {
    static func main() async {
        do {
            var command = try AgentCommand.parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            AgentCommand.exit(withError: PeopleMessage.failure(for: error) ?? error)
        }
    }
}
