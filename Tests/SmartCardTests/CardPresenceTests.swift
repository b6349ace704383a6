import SmartCard
import Testing

@Suite("Waiting for cards (fake reader)")
struct CardPresenceTests {
    static let reader = "Officer Reader"
    static let empty = CardReaderState(name: reader, cardPresent: false, atr: nil, eventState: 0x10)
    static let card = CardReaderState(name: reader, cardPresent: true, atr: [0x3B, 0x80, 0x80, 0x01, 0x01], eventState: 0x20)

    @Test("waitForCard returns the card's state once it is inserted, passing the remaining time on")
    func insertion() throws {
        let fake = FakeCardReader(initial: Self.empty, then: [Self.empty, Self.card])
        let state = try fake.waitForCard(reader: Self.reader, timeout: .seconds(30))
        #expect(state.cardPresent && state.atr == [0x3B, 0x80, 0x80, 0x01, 0x01])
        #expect(state.atrHex == "3B 80 80 01 01")
        #expect(fake.waits.count == 2)
        #expect(fake.waits.allSatisfy { $0 <= .seconds(30) && $0 > .seconds(29) })
    }

    @Test("waitForCard returns at once when a card is already present")
    func alreadyPresent() throws {
        let fake = FakeCardReader(initial: Self.card, then: [])
        #expect(try fake.waitForCard(reader: Self.reader, timeout: .seconds(1)).cardPresent)
        #expect(fake.waits.isEmpty)
    }

    @Test("no card within the timeout is a clean timedOut error naming the reader")
    func timeout() {
        let fake = FakeCardReader(initial: Self.empty, then: [])
        let error = #expect(throws: SmartCardError.self) { try fake.waitForCard(reader: Self.reader, timeout: .milliseconds(50)) }
        #expect(error?.code == .timedOut && error?.reason.contains(Self.reader) == true)
    }

    @Test("waitForRemoval finishes when the card leaves and times out while it stays")
    func removal() async throws {
        try await FakeCardReader(initial: Self.card, then: [Self.empty]).waitForRemoval(reader: Self.reader, timeout: .seconds(5))
        let stays = FakeCardReader(initial: Self.card, then: [Self.card])
        let stillThere = await #expect(throws: SmartCardError.self) { try await stays.waitForRemoval(reader: Self.reader, timeout: .seconds(1)) }
        #expect(
            stillThere?.code == .timedOut && stillThere?.reason.contains("waiting for the card to be removed") == true,
            "\(String(describing: stillThere))")
    }

    @Test("an unknown reader is reported, not waited on")
    func unknownReader() {
        let error = #expect(throws: SmartCardError.self) {
            try FakeCardReader(initial: Self.empty, then: []).waitForCard(reader: "Other", timeout: .seconds(5))
        }
        #expect(error?.code == .readerNotFound)
    }
}
