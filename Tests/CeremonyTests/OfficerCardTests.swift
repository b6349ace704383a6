import Foundation
import SmartCard
import Testing

@testable import CeremonyKit

/// A reader whose card arrives after a number of polls, as an officer's hand would.
final class ScriptedReader: CardReaderMonitoring, @unchecked Sendable {
    private let lock = NSLock()
    private var polls = 0
    let name: String
    let insertAfterPolls: Int?

    init(name: String, insertAfterPolls: Int?) {
        self.name = name
        self.insertAfterPolls = insertAfterPolls
    }

    private func state() -> CardReaderState {
        let present = insertAfterPolls.map { polls >= $0 } ?? false
        return CardReaderState(name: name, cardPresent: present, atr: present ? [0x3B, 0x80, 0x80, 0x01, 0x01] : nil)
    }

    func readers() throws -> [CardReaderState] { lock.withLock { [state()] } }

    func waitForStateChange(reader: String, known: CardReaderState?, timeout: Duration) throws -> CardReaderState? {
        lock.withLock {
            polls += 1
            return state()
        }
    }
}

struct RecordingConsole: CeremonyConsole {
    let lines = LinesBox()
    func show(_ line: String) { lines.append(line) }
    func ask(_ prompt: String) -> String? { nil }
}

final class LinesBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []
    func append(_ line: String) { lock.withLock { storage.append(line) } }
    var all: [String] { lock.withLock { storage } }
}

@Suite("The ceremony asks for the officer's card and waits for it")
struct OfficerCardTests {
    @Test("asks, waits, and proceeds when the card arrives")
    func waitsForInsertion() async throws {
        let console = RecordingConsole()
        let card = OfficerCard(reader: "Virtual PCD 00 00", monitor: ScriptedReader(name: "Virtual PCD 00 00", insertAfterPolls: 2), console: console)
        try await card.waitUntilInserted()
        #expect(console.lines.all.first == "Insert the officer's card into Virtual PCD 00 00…")
        #expect(console.lines.all.last == "card inserted (ATR 3B 80 80 01 01)")
    }

    @Test("an unknown reader is named with the readers that exist")
    func unknownReader() async {
        let card = OfficerCard(reader: "Nope", monitor: ScriptedReader(name: "Virtual PCD 00 00", insertAfterPolls: 0), console: RecordingConsole())
        let error = await #expect(throws: CeremonyError.self) { try await card.waitUntilInserted() }
        #expect(
            error?.code == .token && error?.reason == "card reader \"Nope\" not found; readers present: Virtual PCD 00 00",
            "\(String(describing: error))")
    }

    @Test("no card within the timeout stops the ceremony with a clear error")
    func timeout() async {
        var card = OfficerCard(reader: "R", monitor: ScriptedReader(name: "R", insertAfterPolls: nil), console: RecordingConsole())
        card.timeout = .milliseconds(200)
        await #expect {
            try await card.waitUntilInserted()
        } throws: { error in
            "\(error)".contains("no card was inserted into R")
        }
    }
}
