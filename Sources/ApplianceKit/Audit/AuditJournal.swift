import Foundation
import Logging
import Registration
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// `audit/audit.jsonl` (docs/files.md#audit-journal): the store's hash-chained audit events, one canonical JSON
/// object per line, appended and fsynced as they are recorded.
///
/// The store is where an event is first committed (in the same transaction as what it records, so
/// there is never an issuance without its audit entry); the journal is the plain-text copy an
/// auditor reads and checks with ``verify(path:)`` without the database. Each line carries `seq`,
/// `prevHash` and `hash`, so an edited, removed or inserted line is found.
///
/// It subscribes to the RA's event stream (docs/architecture.md#event-stream): an issuance,
/// decision or revocation wakes it to export at once; otherwise it looks every ``interval`` (audit
/// entries written outside the RA's units, such as read-only admin actions and retirements).
public struct AuditJournal: Service, AuthorityEventSubscriber {
    let store: any AuditLog
    let path: String
    let logger: Logger
    let interval: Duration
    /// Wakes the export loop; bursts collapse into one wake.
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// - Parameter interval: the longest wait between two exports when nothing wakes the journal.
    public init(store: any AuditLog, path: String, logger: Logger, interval: Duration = .seconds(1)) {
        self.store = store
        self.path = path
        self.logger = logger
        self.interval = interval
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.wakes = stream
        self.wake = continuation
    }

    /// Something the RA committed carries audit entries: export them now.
    public func authorityEventOccurred(_ event: AuthorityEvent) async {
        wake.yield()
    }

    public func run() async throws {
        let start = try Self.lastSeq(path: path)
        let exported = await cancelWhenGracefulShutdown { () async -> Int64 in
            // One consumer of the wakes: the loop below. The ticker wakes it at least every
            // interval; events wake it at once. Cancellation ends the iteration.
            let ticker = Task { [wake, interval] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    wake.yield()
                }
            }
            defer { ticker.cancel() }
            var exported = await export(after: start)
            for await _ in wakes {
                exported = await export(after: exported)
            }
            return exported
        }
        await finalExport(after: exported)
    }

    /// How long the last export at shutdown may take: a reachable database answers in
    /// milliseconds; an unreachable one would hold the stop for the store's connect timeout (5 s
    /// by default, more across failover hosts), while nothing is lost by stopping: the next start
    /// resumes after the journal's last line.
    static let finalExportLimit: Duration = .seconds(2)

    /// A last export so events of the final second are not left for the next start, bounded by
    /// ``finalExportLimit``.
    private func finalExport(after seq: Int64) async {
        let outcome = await withTaskGroup(of: Result<Int64, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await sync(after: seq)) } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(for: Self.finalExportLimit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        switch outcome {
        case .success: break
        case .failure(let error):
            logger.error("final audit journal export failed; it resumes at the next start", metadata: ["error": "\(error)"])
        case nil:
            logger.error("final audit journal export did not finish within \(Self.finalExportLimit); it resumes at the next start")
        }
    }

    /// ``sync(after:)``, logging a failure: the store keeps every event and the next wake retries.
    private func export(after seq: Int64) async -> Int64 {
        do {
            return try await sync(after: seq)
        } catch {
            // Cut short by shutdown, nothing failed: the final export follows.
            if !Task.isCancelled {
                logger.error("cannot append to the audit journal", metadata: ["path": "\(path)", "error": "\(error)"])
            }
            // A page may have been appended before the failure or the cancellation (the store lost
            // its primary while the next page was read): resume after what the file holds, never
            // append it twice.
            return (try? Self.lastSeq(path: path)) ?? seq
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
            throw ApplianceError.notFound(
                "no audit journal at \(path); give the state directory with --state-dir (the appliance writes audit/audit.jsonl there once it has served)"
            )
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
