import CAStore
import Foundation
import Logging
import NIOConcurrencyHelpers
import Registration
import ServiceLifecycle
import TestSupport
import Testing

@testable import ApplianceKit

@Suite("The audit journal mirrors the store's hash chain in audit/audit.jsonl")
struct AuditJournalTests {
    @Test("events are exported once, in order, and an edited line is named")
    func exportAndVerify() async throws {
        let directory = try TemporaryDirectory("audit")
        defer { directory.remove() }
        let store = InMemoryStore()
        let path = directory.file("audit.jsonl")
        let journal = AuditJournal(store: store, path: path, logger: Logger(label: "test"))
        for action in ["agent.approve", "certificate.issue", "certificate.revoke"] {
            _ = try await store.append(
                AuditEntry(time: Date(timeIntervalSince1970: 1_790_000_000), actor: "admin:uid=0", action: action, subject: "web-01"))
        }
        #expect(try await journal.sync(after: 0) == 3)
        _ = try await store.append(
            AuditEntry(time: Date(timeIntervalSince1970: 1_790_000_001), actor: "system", action: "crl.publish", subject: "intermediate"))
        #expect(try await journal.sync(after: 3) == 4)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.split(separator: "\n").count == 4)
        #expect(text.contains("\"actor\":\"admin:uid=0\""))
        guard case .intact(let count, _) = try AuditJournal.verify(path: path) else {
            Issue.record("an untouched journal must verify")
            return
        }
        #expect(count == 4)
        var mode = stat()
        #expect(stat(path, &mode) == 0 && mode.st_mode & 0o077 == 0, "the journal must not be readable by others")

        try text.replacingOccurrences(of: "certificate.revoke", with: "certificate.renew").write(toFile: path, atomically: true, encoding: .utf8)
        guard case .broken(let seq, _) = try AuditJournal.verify(path: path) else {
            Issue.record("an edited journal must not verify")
            return
        }
        #expect(seq == 3)
    }

    @Test("an issuance wakes the journal through the RA's event stream: exported at once, not at the next poll")
    func wokenByEvents() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let path = harness.directory.file("audit.jsonl")
        // An hour between polls: only the event stream's wake can export within the test.
        let journal = AuditJournal(store: harness.store, path: path, logger: Logger(label: "test"), interval: .seconds(3600))
        let ca = try harness.ca(announcingTo: [journal])
        let token = try await ca.createToken(hostname: "audit-1", caller: CAHarness.admin)
        let running = Task { try await journal.run() }
        // Wait for the start-up export (the token's entry): from here on, only a wake can export
        // before the hour is up.
        for _ in 0..<100 where FileManager.default.fileExists(atPath: path) == false {
            try await Task.sleep(for: .milliseconds(50))
        }
        let journalStarted = FileManager.default.fileExists(atPath: path)
        try await Task.sleep(for: .milliseconds(100))
        guard
            case .issued(let certificate, _) = try await ca.enroll(
                csrDER: try CAHarness.agentCSR(hostname: "audit-1").der, token: token, source: "127.0.0.1")
        else {
            Issue.record("enrolment was not issued")
            running.cancel()
            return
        }
        let serial = IntermediateCA.serialHex(certificate)
        #expect(journalStarted, "the journal never exported the token's audit entry")
        var exported = false
        for _ in 0..<100 where !exported {  // 5 s
            try await Task.sleep(for: .milliseconds(50))
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            exported = text.contains("\"action\":\"certificate.issued\"") && text.contains(serial)
        }
        #expect(exported, "the issuance's audit entry was not exported after the event")
        running.cancel()
        _ = await running.result
    }

    /// An audit log whose reads hang (until cancelled) once `hang` is set: a database that went away.
    final class HangingAuditLog: AuditLog {
        let inner = InMemoryStore()
        let hang = NIOLockedValueBox(false)
        func append(_ entry: AuditEntry) async throws -> AuditEvent { try await inner.append(entry) }
        func auditEvents(afterSeq: Int64, limit: Int) async throws -> [AuditEvent] {
            if hang.withLockedValue({ $0 }) { try await Task.sleep(for: .seconds(3600)) }
            return try await inner.auditEvents(afterSeq: afterSeq, limit: limit)
        }
        func verifyAuditChain() async throws -> AuditVerification { try await inner.verifyAuditChain() }
    }

    /// Runs `journal` in a service group until `body` returns, then stops it gracefully; returns
    /// how long the stop took. A stop that takes more than 20 s is recorded as an issue and cut
    /// short by cancellation, so a hanging stop fails the test instead of hanging the run.
    static func runThenStop(_ journal: AuditJournal, _ body: () async throws -> Void) async throws -> Duration {
        let group = ServiceGroup(configuration: .init(services: [.init(service: journal)], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        try await body()
        let clock = ContinuousClock()
        let started = clock.now
        await group.triggerGracefulShutdown()
        let inTime = await withTaskGroup(of: Bool.self) { waiting in
            waiting.addTask {
                _ = await running.result
                return true
            }
            waiting.addTask {
                try? await Task.sleep(for: .seconds(20))
                return false
            }
            let first = await waiting.next() ?? false
            if !first { running.cancel() }
            waiting.cancelAll()
            return first
        }
        let took = clock.now - started
        #expect(inTime, "the graceful stop had not ended after \(took)")
        if inTime { try await running.value } else { _ = await running.result }
        return took
    }

    @Test(
        "a graceful stop exports what was recorded since the last export; with the store unreachable it stops within the final export's limit, and the next start resumes"
    )
    func finalExport() async throws {
        let directory = try TemporaryDirectory("audit-final")
        defer { directory.remove() }
        let path = directory.file("audit.jsonl")
        let log = HangingAuditLog()
        // An hour between polls and no event stream: only the start and the stop export.
        // A new journal per run, as each start of serve makes one.
        var journal: AuditJournal { AuditJournal(store: log, path: path, logger: Logger(label: "test"), interval: .seconds(3600)) }
        let entry = { (action: String) in AuditEntry(time: Date(timeIntervalSince1970: 1_790_000_000), actor: "system", action: action, subject: "s")
        }
        _ = try await Self.runThenStop(journal) {
            try await Task.sleep(for: .milliseconds(300))
            _ = try await log.append(entry("recorded.last.second"))
        }
        #expect(try AuditJournal.lastSeq(path: path) == 1, "the event recorded before the stop was not exported by it")

        // The store stops answering: the stop does not wait for it.
        let stopped = try await Self.runThenStop(journal) {
            try await Task.sleep(for: .milliseconds(300))
            _ = try await log.append(entry("recorded.while.down"))
            log.hang.withLockedValue { $0 = true }
        }
        #expect(stopped < AuditJournal.finalExportLimit + .seconds(2), "the stop took \(stopped)")
        #expect(try AuditJournal.lastSeq(path: path) == 1)
        // Back: the next run exports it.
        log.hang.withLockedValue { $0 = false }
        _ = try await Self.runThenStop(journal) { try await Task.sleep(for: .milliseconds(300)) }
        #expect(try AuditJournal.lastSeq(path: path) == 2, "the next start did not resume the export")
        guard case .intact(let count, _) = try AuditJournal.verify(path: path) else {
            Issue.record("the journal must verify")
            return
        }
        #expect(count == 2)
    }
}
