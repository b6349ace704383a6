import ArgumentParser
import CeremonyKit
import Foundation

struct PreflightCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preflight",
        abstract: "Check the machine before a ceremony: air gap, clock, token and media.",
        discussion: """
            Refuses (exit 1) when a non-loopback interface is up (even without carrier), a default
            route exists, or a wireless or bluetooth device is present, unless --rehearsal is given.
            Example:
              ceremony preflight --module /usr/lib/softhsm/libsofthsm2.so --media /media/ROOTKEEPER
            """
    )

    @Option(help: "PKCS#11 module to check.")
    var module: String?

    @Option(help: "Token label, serial or pkcs11: URI that must be present.")
    var token: String?

    @Option(help: "Media directory that must be writable.")
    var media: String?

    @Flag(help: "Report, but do not refuse, a machine that is not air-gapped.")
    var rehearsal = false

    func run() throws {
        let preflight = Preflight(module: module, token: token, media: media, tokens: PKCS11TokenInventory())
        let report = preflight.run()
        for line in report.lines { print(line) }
        if !report.passed(rehearsal: rehearsal) {
            throw reportFailure(CeremonyError(.airGap, "preflight failed: \(report.blockingSummary)"))
        }
        print(rehearsal && !report.passed(rehearsal: false) ? "preflight: REHEARSAL ONLY (not air-gapped)" : "preflight: OK")
    }
}
