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

/// How a list prints: one line per entry (text), or a JSON array of objects (docs/commands.md#output-for-scripts).
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// `--format text|json` of the list commands.
struct FormatOption: ParsableArguments {
    @Option(help: "Output format: text (one line per entry) or json (an array of objects with named fields).")
    var format: OutputFormat = .text
}

/// Sends one admin request to the running appliance and prints the answer's lines, or with
/// `format` json the entries of a list as a JSON array.
func sendAdmin(_ state: StateOptions, _ command: String, _ arguments: [String: String] = [:], format: OutputFormat = .text) throws {
    let client = AdminClient(socketPath: StateDirectory(path: state.stateDirectory).adminSocket)
    let response = try client.send(AdminRequest(command: command, arguments: arguments))
    guard response.ok else { throw CommandFailure(response.error ?? "the appliance refused the request") }
    switch format {
    case .text:
        for line in response.lines { print(line) }
    case .json:
        let objects = (response.entries ?? []).map(\.jsonObject)
        try printJSON(objects)
    }
}

/// Prints a JSON value (sorted keys, indented) on stdout.
func printJSON(_ value: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

struct AgentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents", abstract: "Administer agents (through DIR/admin.sock).",
        subcommands: [List.self, Show.self, Approve.self, Reject.self, Release.self, Revoke.self, Token.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One line per agent and open registration, starting with its ID; --format json for named fields.")
        @OptionGroup var state: StateOptions
        @OptionGroup var output: FormatOption
        func run() throws { try sendAdmin(state, "agents.list", format: output.format) }
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
        static let configuration = CommandConfiguration(
            abstract: "One line per certificate, starting with its serial in hex; --format json for named fields.")
        @OptionGroup var state: StateOptions
        @OptionGroup var output: FormatOption
        func run() throws { try sendAdmin(state, "certs.list", format: output.format) }
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
        @OptionGroup var output: FormatOption
        func validate() throws {
            guard (1...3650).contains(days) else { throw ValidationError("--days must be 1–3650 (a window in days, such as 30), got \(days)") }
        }
        func run() throws { try sendAdmin(state, "certs.expiring", ["days": String(days)], format: output.format) }
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
        commandName: "audit", abstract: "Read and check the hash-chained audit journal (audit/audit.jsonl).", subcommands: [List.self, Verify.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The journal's events, oldest first: one line each, or --format json.",
            discussion:
                "Reads audit/audit.jsonl offline (no running appliance needed). Example:\n  appliance audit list --last 20 --format json --state-dir /var/lib/rootkeeper"
        )
        @OptionGroup var state: StateOptions
        @OptionGroup var output: FormatOption
        @Option(help: "Only the last N events.") var last: Int?
        func validate() throws {
            if let last, last < 1 { throw ValidationError("--last must be at least 1, got \(last)") }
        }
        func run() throws {
            let path = StateDirectory(path: state.stateDirectory).path("audit", "audit.jsonl")
            var events = try AuditJournal.records(path: path)
            if let last { events = Array(events.suffix(last)) }
            switch output.format {
            case .text:
                for event in events { print("\(event.seq) \(event.time) \(event.actor) \(event.action) \(event.subject)") }
            case .json:
                try printJSON(events.map(\.jsonObject))
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay audit/audit.jsonl offline and name the first broken entry.",
            discussion: "Example:\n  appliance audit verify --state-dir /var/lib/rootkeeper")
        @OptionGroup var state: StateOptions
        @OptionGroup var output: FormatOption
        func run() throws {
            let path = StateDirectory(path: state.stateDirectory).path("audit", "audit.jsonl")
            switch try AuditJournal.verify(path: path) {
            case .intact(let count, let head):
                if output.format == .json {
                    try printJSON(["intact": true, "events": Int(count), "head": head] as [String: Any])
                } else {
                    print("audit journal OK: \(counted(Int(count), "event")), head \(head)")
                }
            case .broken(let seq, let reason):
                if output.format == .json { try printJSON(["intact": false, "brokenAt": Int(seq), "reason": reason] as [String: Any]) }
                throw CommandFailure("audit journal broken at entry \(seq): \(reason)")
            }
        }
    }
}
