import ApplianceKit
import ArgumentParser
import Foundation

/// `--reason` of the revoke commands: only the reasons a full CRL of this CA can carry.
let revocationReasonHelp = ArgumentHelp("RFC 5280 reason, one of: \(IntermediateCA.acceptedRevocationReasonNames).")

/// Refuses a reason before anything is sent (the appliance refuses it again): removeFromCRL and
/// certificateHold would leave a revocation no full CRL can carry.
func validateRevocationReason(_ reason: String) throws {
    do { _ = try IntermediateCA.revocationReason(reason) } catch let error as ApplianceError {
        throw ValidationError(error.reason)
    }
}

/// Sends one admin request to the running appliance and prints the answer's lines.
func sendAdmin(_ state: StateOptions, _ command: String, _ arguments: [String: String] = [:]) throws {
    let client = AdminClient(socketPath: StateDirectory(path: state.stateDirectory).adminSocket)
    let response = try client.send(AdminRequest(command: command, arguments: arguments))
    guard response.ok else { throw CommandFailure(response.error ?? "the appliance refused the request") }
    for line in response.lines { print(line) }
}

struct AgentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents", abstract: "Administer agents (through DIR/admin.sock).",
        subcommands: [List.self, Show.self, Approve.self, Reject.self, Release.self, Revoke.self, Token.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per agent, starting with its ID.")
        @OptionGroup var state: StateOptions
        func run() throws { try sendAdmin(state, "agents.list") }
    }
    struct Show: ParsableCommand {
        @OptionGroup var state: StateOptions
        @Argument(help: "Agent ID.") var id: String
        func run() throws { try sendAdmin(state, "agents.show", ["id": id]) }
    }
    struct Approve: ParsableCommand {
        @OptionGroup var state: StateOptions
        @Argument(help: "Agent ID (of a pending registration).") var id: String
        func run() throws { try sendAdmin(state, "agents.approve", ["id": id]) }
    }
    struct Reject: ParsableCommand {
        @OptionGroup var state: StateOptions
        @Argument(help: "Agent ID (of a pending registration).") var id: String
        @Option(help: "Reason recorded and shown to the agent.") var reason: String = "rejected by administrator"
        func run() throws { try sendAdmin(state, "agents.reject", ["id": id, "reason": reason]) }
    }
    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Free a hostname held by an open registration (pending, or approved but never fetched).",
            discussion: """
                For an agent that gave up waiting and lost its key, or will never come back: afterwards the
                hostname can enrol with another key or a one-time token. Audited as registration.released.
                Example:
                  appliance agents release web-01 --reason "host rebuilt" --state-dir /var/lib/rootkeeper
                """)
        @OptionGroup var state: StateOptions
        @Argument(help: "Registration ID, agent ID or hostname of the open registration.") var id: String
        @Option(help: "Why (recorded in the audit log and shown to the old agent if it returns).") var reason: String = ""
        func run() throws { try sendAdmin(state, "agents.release", ["id": id, "reason": reason]) }
    }
    struct Revoke: ParsableCommand {
        @OptionGroup var state: StateOptions
        @Argument(help: "Agent ID; its whole certificate line is revoked.") var id: String
        @Option(help: revocationReasonHelp) var reason: String = "unspecified"
        func validate() throws { try validateRevocationReason(reason) }
        func run() throws { try sendAdmin(state, "agents.revoke", ["id": id, "reason": reason]) }
    }
    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a one-time enrolment token (printed as the last word).")
        @OptionGroup var state: StateOptions
        @Option(help: "Bind the token to this hostname.") var hostname: String?
        func run() throws {
            var arguments: [String: String] = [:]
            if let hostname { arguments["hostname"] = hostname }
            try sendAdmin(state, "agents.token", arguments)
        }
    }
}

struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs", abstract: "Inspect and revoke certificates (through DIR/admin.sock).",
        subcommands: [List.self, Show.self, Revoke.self, Expiring.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per certificate, starting with its serial in hex.")
        @OptionGroup var state: StateOptions
        func run() throws { try sendAdmin(state, "certs.list") }
    }
    struct Show: ParsableCommand {
        @OptionGroup var state: StateOptions
        @Argument(help: "Serial number in hex.") var serial: String
        func run() throws { try sendAdmin(state, "certs.show", ["serial": serial]) }
    }
    struct Revoke: ParsableCommand {
        @OptionGroup var state: StateOptions
        @Argument(help: "Serial number in hex.") var serial: String
        @Option(help: revocationReasonHelp) var reason: String = "unspecified"
        func validate() throws { try validateRevocationReason(reason) }
        func run() throws { try sendAdmin(state, "certs.revoke", ["serial": serial, "reason": reason]) }
    }
    struct Expiring: ParsableCommand {
        @OptionGroup var state: StateOptions
        @Option(help: "Window in days.") var days: Int = 30
        func run() throws { try sendAdmin(state, "certs.expiring", ["days": String(days)]) }
    }
}

struct CRLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crl", abstract: "CRL operations.", subcommands: [Generate.self, InstallRoot.self])

    struct InstallRoot: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "install-root",
            abstract: "Install the root CRL from a ceremony bundle (verified against the pinned root); served at /crl/root.crl.")
        @OptionGroup var state: StateOptions
        @Option(help: "The ceremony's CRL bundle directory (<media>/crl).") var from: String
        func run() throws {
            let number = try CRLPublisher.installRootCRLOffline(state: StateDirectory(path: state.stateDirectory), from: from)
            print("root CRL \(number) installed; a running appliance serves it from its next request to /crl/root.crl")
        }
    }
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Force a new CRL now.")
        @OptionGroup var state: StateOptions
        func run() throws { try sendAdmin(state, "crl.generate") }
    }
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Check the hash-chained audit journal (audit/audit.jsonl).", subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay audit/audit.jsonl offline and name the first broken entry.",
            discussion: "Example:\n  appliance audit verify --state-dir /var/lib/rootkeeper")
        @OptionGroup var state: StateOptions
        func run() throws {
            let path = StateDirectory(path: state.stateDirectory).path("audit", "audit.jsonl")
            switch try AuditJournal.verify(path: path) {
            case .intact(let count, let head):
                print("audit journal OK: \(count) events, head \(head)")
            case .broken(let seq, let reason):
                throw CommandFailure("audit journal broken at entry \(seq): \(reason)")
            }
        }
    }
}
