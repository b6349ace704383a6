import ApplianceKit
import CAStore
import Foundation
import Logging
import Registration
import TestSupport
import Testing

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
}
