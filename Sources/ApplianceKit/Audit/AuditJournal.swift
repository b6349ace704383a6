#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import Registration
import ServiceLifecycle

/// `audit/audit.jsonl` (docs/files.md#audit-journal): the store's hash-chained audit events, one canonical JSON
/// object per line, appended and fsynced as they are recorded.
///
/// The store is where an event is first committed (in the same transaction as what it records, so
/// there is never an issuance without its audit entry); the journal is the plain-text copy an
/// auditor reads and checks with ``verify(path:)`` without the database. Each line carries `seq`,
/// `prevHash` and `hash`, so an edited, removed or inserted line is found.
public struct AuditJournal: Service {
    let store: any AuditLog
    let path: String
    let logger: Logger
    var interval: Duration = .seconds(1)

    public init(store: any AuditLog, path: String, logger: Logger) {
        self.store = store
        self.path = path
        self.logger = logger
    }

    public func run() async throws {
        let start = try Self.lastSeq(path: path)
        let exported = await cancelWhenGracefulShutdown { () async -> Int64 in
            var exported = start
            while !Task.isCancelled {
                do {
                    exported = try await sync(after: exported)
                } catch {
                    // The store keeps every event; the next round retries the export.
                    logger.error("cannot append to the audit journal", metadata: ["path": "\(path)", "error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
            return exported
        }
        // A last export so events of the final second are not left for the next start.
        do { _ = try await sync(after: exported) } catch {
            logger.error("final audit journal export failed; it resumes at the next start", metadata: ["error": "\(error)"])
        }
    }

    /// Appends every event after `seq`; returns the last exported sequence number.
    public func sync(after seq: Int64) async throws -> Int64 {
        var last = seq
        while true {
            let events = try await store.auditEvents(afterSeq: last, limit: 1000)
            guard !events.isEmpty else { return last }
            var bytes: [UInt8] = []
            for event in events { bytes += try Self.line(event) + [UInt8(ascii: "\n")] }
            try Self.append(bytes, to: path)
            last = events[events.count - 1].seq
        }
    }

    static func line(_ event: AuditEvent) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return [UInt8](try encoder.encode(event))
    }

    static func append(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ApplianceError.unavailable("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ApplianceError.unavailable("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
        guard fsync(fd) == 0 else { throw ApplianceError.unavailable("cannot fsync \(path)") }
    }

    /// The last sequence number already in the journal (0 for none).
    static func lastSeq(path: String) throws -> Int64 {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return 0 }
        guard let last = data.split(separator: UInt8(ascii: "\n")).last else { return 0 }
        return try JSONDecoder().decode(AuditEvent.self, from: Data(last)).seq
    }

    /// Replays the journal at `path` and checks every line (form, sequence, chain, hash).
    public static func verify(path: String) throws -> AuditVerification {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ApplianceError.notFound("no audit journal at \(path); give the state directory with --state-dir (the appliance writes audit/audit.jsonl there once it has served)")
        }
        var events: [AuditEvent] = []
        for (index, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
            guard let event = try? JSONDecoder().decode(AuditEvent.self, from: Data(line)), try Self.line(event) == Array(line) else {
                return .broken(seq: Int64(index + 1), reason: "line \(index + 1) is not a canonical audit event (edited?)")
            }
            events.append(event)
        }
        return AuditVerification.verify(events)
    }
}
