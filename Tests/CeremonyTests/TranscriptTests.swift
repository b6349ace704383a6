import Foundation
import PKICore
import TestSupport
import Testing

@testable import CeremonyKit

@Suite("The transcript is a hash chain that names its first broken entry")
struct TranscriptTests {
    func writeThree(at path: String) throws -> Transcript {
        let transcript = try Transcript(path: path, clock: FixedClock(Date(timeIntervalSince1970: 1_790_000_000)))
        let officer = TranscriptEntry.Actor(role: "officer", name: "A. Officer")
        try transcript.append(actor: officer, event: "ceremony.start", inputs: ["plan.yaml": String(repeating: "ab", count: 32)])
        try transcript.append(actor: officer, event: "key.generated", details: ["label": "root-2026"])
        try transcript.append(actor: officer, event: "ceremony.end", outputs: ["root-ca.crt": String(repeating: "cd", count: 32)])
        return transcript
    }

    @Test("an untouched transcript verifies and its head is the last entry's hash")
    func verifies() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let transcript = try writeThree(at: dir.file("transcript.jsonl"))
        let state = try Transcript.verify(path: dir.file("transcript.jsonl"))
        #expect(state.count == 3)
        #expect(state.head == transcript.head)
        #expect(state.entries[1].prev == state.entries[0].hash)
        let announced = Transcript.announce(head: state.head)
        #expect(announced.words.split(separator: " ").count == 32)
        #expect(announced.hex.replacingOccurrences(of: " ", with: "") == state.head)
    }

    @Test("reopening continues the chain")
    func reopen() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let first = try writeThree(at: dir.file("t.jsonl"))
        let second = try Transcript(path: dir.file("t.jsonl"), clock: SystemClock())
        #expect(second.head == first.head)
        let entry = try second.append(actor: .init(role: "witness", name: "W"), event: "witness.signoff")
        #expect(entry.seq == 4 && entry.prev == first.head)
        #expect(try Transcript.verify(path: dir.file("t.jsonl")).count == 4)
    }

    @Test("changing any single byte of the second line is detected at line 2")
    func everyByteOfALine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("t.jsonl")
        _ = try writeThree(at: path)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let lines = original.split(separator: UInt8(ascii: "\n"))
        let start = lines[0].count + 1
        for offset in 0..<lines[1].count {
            var tampered = original
            tampered[start + offset] = tampered[start + offset] == UInt8(ascii: "x") ? UInt8(ascii: "y") : UInt8(ascii: "x")
            try tampered.write(to: URL(fileURLWithPath: path))
            #expect(throws: CeremonyError.self, "byte \(offset) of line 2") { try Transcript.verify(path: path) }
            do {
                try Transcript.verify(path: path)
            } catch {
                #expect("\(error)".contains("line 2"), "byte \(offset): \(error)")
            }
        }
    }

    @Test("a removed entry breaks the chain and a broken transcript is never extended")
    func removedEntry() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("t.jsonl")
        _ = try writeThree(at: path)
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        lines.remove(at: 1)
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let verifying = #expect(throws: CeremonyError.self) { try Transcript.verify(path: path) }
        #expect(
            verifying?.code == .transcript && verifying?.reason == "line 2 is broken: sequence number 3, expected 2",
            "\(String(describing: verifying))")
        let reopening = #expect(throws: CeremonyError.self) { _ = try Transcript(path: path, clock: SystemClock()) }
        #expect(
            reopening?.code == .transcript && reopening?.reason == "line 2 is broken: sequence number 3, expected 2",
            "\(String(describing: reopening))")
    }
}
