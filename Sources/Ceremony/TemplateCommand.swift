import ArgumentParser
import CeremonyKit
import Foundation

struct TemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Print a commented plan to start from: a production plan unless --rehearsal is given.",
        discussion: """
            Example:
              ceremony template root > root.yaml
              ceremony template intermediate --media /media/ROOTKEEPER --expected-spki-sha256 <hex from the printout> > intermediate.yaml
              ceremony template root --rehearsal > rehearsal-root.yaml
            With --media, the root key label and SPKI SHA-256 are read from the media's root database.
            """
    )

    @Argument(help: "root, intermediate or crl")
    var kind: CeremonyPlan.Kind

    @Option(help: "Media directory whose root database fills in the pinned root key.")
    var media: String?

    @Flag(help: "Make a rehearsal plan (rehearsal: true); without it the plan is for a production ceremony.")
    var rehearsal = false

    @Option(name: .customLong("expected-spki-sha256"), help: "Intermediate plans: the CSR key's SPKI SHA-256 from the appliance operator's printout.")
    var expectedSPKI: String?

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
        var expected: String?
        if let expectedSPKI {
            do {
                expected = try PlanTemplate.expectedSPKI(expectedSPKI, for: kind)
            } catch {
                throw reportFailure(error)
            }
        }
        print(PlanTemplate.text(for: kind, rootKey: reference, rehearsal: rehearsal, expectedSPKI: expected), terminator: "")
    }
}

extension CeremonyPlan.Kind: ExpressibleByArgument {}
