import Foundation
import Registration

/// One audit event as `appliance audit list` shows it: the journal line's facts with a readable
/// time and the details as an object (docs/files.md#audit-journal).
public struct AuditRecord: Sendable {
    public let event: AuditEvent

    public var seq: Int64 { event.seq }
    public var actor: String { event.actor }
    public var action: String { event.action }
    public var subject: String { event.subject }
    /// ISO 8601 with milliseconds (the hashed precision).
    public var time: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: event.time)
    }

    /// The record for `--format json`: seq, time, actor, action, subject, details, hash, prevHash.
    public var jsonObject: [String: Any] {
        let details = (try? JSONSerialization.jsonObject(with: Data(event.detailsJSON.utf8))) ?? event.detailsJSON
        return [
            "seq": Int(event.seq), "time": time, "actor": actor, "action": action, "subject": subject, "details": details,
            "hash": event.hash, "prevHash": event.prevHash,
        ]
    }
}

extension AuditJournal {
    /// The journal's events in order, refusing a line that is not an audit event (run
    /// `appliance audit verify` to find out more).
    public static func records(path: String) throws -> [AuditRecord] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ApplianceError.notFound(
                """
                no audit journal at \(path); give the state directory with --state-dir (the appliance writes \
                audit/audit.jsonl there once it has served)
                """)
        }
        return try data.split(separator: UInt8(ascii: "\n")).enumerated().map { index, line in
            guard let event = try? JSONDecoder().decode(AuditEvent.self, from: Data(line)) else {
                throw ApplianceError.malformed(
                    "line \(index + 1) of \(path) is not an audit event; run `appliance audit verify` to check the journal")
            }
            return AuditRecord(event: event)
        }
    }
}
