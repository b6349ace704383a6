import SmartCard

/// "Insert the officer's card": for tokens on smart cards, the ceremony names the reader, asks
/// for the card and waits for PC/SC to report it before touching PKCS#11 (issue 3).
struct OfficerCard {
    /// How long an officer has to insert the card before the ceremony stops asking.
    static let insertionTimeout: Duration = .seconds(300)

    let reader: String
    let monitor: any CardReaderMonitoring
    let console: any CeremonyConsole
    var timeout: Duration = OfficerCard.insertionTimeout

    func waitUntilInserted() async throws {
        let readers = try monitor.readers()
        guard let state = readers.first(where: { $0.name == reader }) else {
            throw CeremonyError(.token, "card reader \"\(reader)\" not found; readers present: \(readers.map(\.name).joined(separator: ", "))")
        }
        if state.cardPresent {
            console.show("card present in \(reader) (ATR \(state.atrHex ?? "unknown"))")
            return
        }
        console.show("Insert the officer's card into \(reader)…")
        do {
            let inserted = try await monitor.waitForCard(reader: reader, timeout: timeout)
            console.show("card inserted (ATR \(inserted.atrHex ?? "unknown"))")
        } catch {
            throw CeremonyError(.token, "no card was inserted into \(reader): \(ErrorText.of(error))")
        }
    }
}
