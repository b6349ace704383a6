import ArgumentParser
import CeremonyKit
import Foundation

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Human view of a certificate, CSR, CRL or bundle, with fingerprints.",
        discussion: """
            Example:
              ceremony inspect /media/ROOTKEEPER/intermediate-csr
              ceremony inspect /media/ROOTKEEPER/root/root-ca.crt
            A bundle directory is shown only after its MANIFEST verifies.
            """
    )

    @Argument(help: "A PEM/DER file or a bundle directory.")
    var path: String

    func run() throws {
        do {
            for line in try Inspector.describe(path: path) { print(line) }
        } catch {
            throw reportFailure(error)
        }
    }
}
