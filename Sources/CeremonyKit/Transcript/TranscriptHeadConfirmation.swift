import PKICore

/// At the start of a ceremony the officer types the transcript head that the witnesses wrote in
/// the paper log at the close of the previous one: the first 8 PGP words (or more), or the first
/// 16 hex digits (or more). The media's transcript must end at that head, so a transcript that was
/// cut, rewritten as a whole (a consistent new chain) or replaced is caught by people, not only by
/// the token's anchor.
///
/// Scripted rehearsals answer the prompt on standard input, as they answer the clock prompt.
struct TranscriptHeadConfirmation {
    static let minimumWords = 8
    static let minimumHexDigits = 16

    let console: any CeremonyConsole

    func confirm(head: String, entries: Int) throws {
        let answer =
            console.ask(
                "Type the first \(Self.minimumWords) words of the transcript head in the paper log (written at the close of the previous ceremony):"
            )?.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init) ?? []
        guard Self.matches(answer, head: head) else {
            let words = PGPWordList.words(for: Hex.decode(head, typed: true) ?? [])
            throw CeremonyError.transcript(
                "the transcript on the media (\(entries) entries) ends at head \"\(words.prefix(Self.minimumWords).joined(separator: " "))\", "
                    + "which is not the head typed from the paper log\(answer.isEmpty ? " (nothing was typed)" : ""). The transcript was cut, "
                    + "rewritten or replaced, or the paper log entry is not the last ceremony's: compare the paper log with "
                    + "`ceremony verify-transcript`, and restore the media from a copy whose head matches; nothing was signed")
        }
        console.show("transcript head confirmed against the paper log (\(entries) entries)")
    }

    /// Whether `typed` (words or hex groups) is a long enough prefix of `head`.
    static func matches(_ typed: [String], head: String) -> Bool {
        let words = PGPWordList.words(for: Hex.decode(head, typed: true) ?? [])
        if typed.count >= minimumWords, typed.count <= words.count, Array(words.prefix(typed.count)) == typed { return true }
        let hex = typed.joined()
        return hex.count >= minimumHexDigits && hex.allSatisfy(\.isHexDigit) && head.hasPrefix(hex)
    }
}
