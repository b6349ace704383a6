/// One PC/SC reader and what is in it.
public struct CardReaderState: Sendable, Hashable, CustomStringConvertible {
    /// The reader name as PC/SC reports it (e.g. "Virtual PCD 00 00").
    public let name: String
    /// A card is in the reader.
    public let cardPresent: Bool
    /// The card's Answer To Reset (ISO/IEC 7816-3 §8), when a card is present.
    public let atr: [UInt8]?
    /// The raw SCARD_STATE_* event flags; fed back to the next status-change wait.
    public let eventState: UInt

    public init(name: String, cardPresent: Bool, atr: [UInt8]?, eventState: UInt = 0) {
        self.name = name
        self.cardPresent = cardPresent
        self.atr = atr
        self.eventState = eventState
    }

    /// The ATR in hex, space-separated, as pcsc_scan prints it.
    public var atrHex: String? {
        atr.map { $0.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined(separator: " ") }
    }

    public var description: String {
        "\(name): " + (cardPresent ? "card present" + (atrHex.map { " (ATR \($0))" } ?? "") : "no card")
    }
}
