import ArgumentParser
import CeremonyKit
import Foundation

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List PKCS#11 slots/tokens and PC/SC readers/cards.",
        discussion: """
            Example:
              ceremony devices --module /usr/lib/softhsm/libsofthsm2.so
            Tokens show label, serial, model and whether they can generate RSA-4096 / P-384 keys;
            readers show whether a card is present and its ATR.
            """
    )

    @Option(help: "PKCS#11 module path.")
    var module: String = CeremonyEnvironment.defaultModule

    func run() throws {
        print("PKCS#11 module \(module):")
        do {
            let tokens = try PKCS11TokenInventory().describeTokens(module: module)
            if tokens.isEmpty { print("  no token present") }
            for token in tokens { print("  token: \(token)") }
        } catch {
            throw reportFailure(error)
        }
        print("PC/SC readers:")
        do {
            let readers = try ReaderInventory.describeReaders()
            if readers.isEmpty { print("  no reader") }
            for reader in readers { print("  \(reader)") }
        } catch {
            // PC/SC is optional for HSM ceremonies: say why it is unavailable, do not fail.
            print("  unavailable: \(ErrorText.of(error))")
        }
    }
}
