import ArgumentParser
import BuildInfo

/// Entry point: parses and runs ``ApplianceCommand``; a failure is printed as a sentence for
/// people (``PeopleMessage``), exit status 1.
@main
enum ApplianceMain {
    static func main() async {
        do {
            var command = try ApplianceCommand.parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            ApplianceCommand.exit(withError: PeopleMessage.failure(for: error) ?? error)
        }
    }
}
