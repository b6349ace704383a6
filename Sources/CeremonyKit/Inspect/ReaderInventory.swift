import SmartCard

/// PC/SC readers and cards for `ceremony devices`.
public enum ReaderInventory {
    /// One line per reader (name, card present, ATR). Throws when PC/SC is unavailable (no pcscd).
    public static func describeReaders() throws -> [String] {
        try PCSCContext().readers().map(\.description)
    }
}
