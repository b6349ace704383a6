import ArgumentParser
import CeremonyKit
import Foundation

struct TemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Print a commented plan to start from (runs as is in a rehearsal).",
        discussion: """
            Example:
              ceremony template root > root.yaml
              ceremony template intermediate --media /media/ROOTKEEPER > intermediate.yaml
            With --media, the root key label and SPKI SHA-256 are read from the media's root database.
            """
    )

    @Argument(help: "root, intermediate or crl")
    var kind: CeremonyPlan.Kind

    @Option(help: "Media directory whose root database fills in the pinned root key.")
    var media: String?

    func run() throws {
        var reference: RootKeyReference?
        if let media {
            do {
                let database = try RootDatabaseStore(media: media).load()
                reference = RootKeyReference(label: database.root.keyLabel, spkiSHA256: database.root.spkiSHA256)
            } catch {
                throw reportFailure(error)
            }
        }
        print(PlanTemplate.text(for: kind, rootKey: reference), terminator: "")
    }
}

extension CeremonyPlan.Kind: ExpressibleByArgument {}
