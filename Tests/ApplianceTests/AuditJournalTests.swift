import ApplianceKit
import CAStore
import Foundation
import Logging
import Registration
import Testing
import TestSupport

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
            _ = try await store.append(AuditEntry(time: Date(timeIntervalSince1970: 1_790_000_000), actor: "admin:uid=0", action: action, subject: "web-01"))
        }
        #expect(try await journal.sync(after: 0) == 3)
        _ = try await store.append(AuditEntry(time: Date(timeIntervalSince1970: 1_790_000_001), actor: "system", action: "crl.publish", subject: "intermediate"))
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
}
