import AgentKit
import ArgumentParser
import BuildInfo
import Foundation
import PKICore

/// `agent` — enrol, renew and check status against the appliance with SPKI pinning (DESIGN §5).
@main
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Rootkeeper agent: enrol, renew and check status with a pinned appliance.",
        version: RootkeeperBuild.versionText(tool: "agent"),
        subcommands: [Enroll.self, Renew.self, Status.self])

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Generate a key + CSR and enrol over EST (waits while pending).")
        @Option(help: "Appliance URL, https://HOST:PORT") var server: String
        @Option(help: "Pinned SPKI of a certificate in the appliance chain: sha256/BASE64") var pin: String
        @Option(help: "This machine's hostname (goes into CN and SAN).") var hostname: String
        @Option(help: "One-time enrolment token (without one the enrolment waits for approval).") var token: String?
        @Option(help: "Output directory (created 0700).") var out: String
        @Option(help: "Longest time to wait for approval, in seconds.") var maxWait: Int = 600

        func run() async throws {
            guard let url = URL(string: server) else { throw ValidationError("--server is not a URL") }
            var enrollment = AgentEnrollment(files: AgentFiles(directory: out))
            enrollment.maximumPendingWait = .seconds(maxWait)
            let certificate = try await enrollment.enroll(server: url, pin: try SPKIPin(pin), hostname: hostname, token: token)
            print("enrolled: serial \(certificate.serialNumber.hex), valid until \(certificate.notValidAfter)")
        }
    }

    struct Renew: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Renew when due (30 days before expiry); --daemon keeps checking.")
        @Option(help: "Agent directory written by enroll.") var out: String
        @Flag(help: "Keep running and renew when due, with jitter and backoff.") var daemon = false
        @Flag(help: "Renew now even if not yet due.") var force = false
        func run() async throws {
            let enrollment = AgentEnrollment(files: AgentFiles(directory: out))
            if daemon {
                try await enrollment.renewLoop { print($0) }
            } else if let certificate = try await enrollment.renew(force: force) {
                print("renewed: serial \(certificate.serialNumber.hex), valid until \(certificate.notValidAfter)")
            } else {
                print("not due: renewal starts 30 days before expiry")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the appliance's view of this agent's certificate.")
        @Option(help: "Agent directory written by enroll.") var out: String
        func run() async throws {
            print(try await AgentEnrollment(files: AgentFiles(directory: out)).status())
        }
    }
}
