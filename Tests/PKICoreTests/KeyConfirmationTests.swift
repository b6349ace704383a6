import PKICore
import Testing

/// The PGP word list and the typed key confirmation built on it (issue 11 part 5).
@Suite("PGP words and the typed key confirmation")
struct KeyConfirmationTests {
    /// The example from the PGP word list's description (Juola & Zimmermann, PGPfone):
    /// E582 94F2 E9A2 2748 6E8B 061B 31CC 528F D7FA 3F19.
    static let exampleBytes = Hex.decode("e58294f2e9a227486e8b061b31cc528fd7fa3f19")!
    static let exampleWords = """
        topmost Istanbul Pluto vagabond treadmill Pacific brackish dictator goldfish Medusa afflict bravado \
        chatter revolver Dupont midsummer stopwatch whimsical cowbell bottomless
        """

    @Test("words match the published example, and read back to the same bytes")
    func publishedExample() throws {
        #expect(PGPWordList.words(for: Self.exampleBytes).joined(separator: " ") == Self.exampleWords.lowercased())
        #expect(try PGPWordList.bytes(from: Self.exampleWords).get() == Self.exampleBytes)
    }

    @Test("a swapped or unknown word is reported at its position")
    func decodingFailures() {
        var words = Self.exampleWords.split(separator: " ").map(String.init)
        words.swapAt(4, 5)
        #expect(PGPWordList.bytes(from: words.joined(separator: " ")) == .failure(.wrongPosition(position: 5, word: "pacific")))
        #expect(PGPWordList.bytes(from: "topmost istanbul plato") == .failure(.unknownWord(position: 3, word: "plato")))
    }

    static let spki = (0..<32).map { UInt8(($0 * 37 + 11) % 256) }

    @Test(
        "16 to 32 matching words confirm; fewer, more, wrong ones or hex refuse",
        arguments: [
            (16, true), (17, true), (32, true), (15, false), (8, false),
        ])
    func lengths(count: Int, confirmed: Bool) {
        let key = KeyConfirmation(spkiSHA256: Self.spki)
        let typed = key.words.prefix(count).joined(separator: " ")
        #expect((key.check(typed: typed) == .confirmed(words: count)) == confirmed)
    }

    @Test("hex, another key's words and nothing are refused with a reason that does not reveal the words")
    func refusals() {
        let key = KeyConfirmation(spkiSHA256: Self.spki)
        let other = KeyConfirmation(spkiSHA256: Self.spki.map { $0 ^ 1 })
        for (typed, reason) in [
            (String(key.hex.prefix(8)), "hex digits are not accepted"),
            (key.hex, "hex digits are not accepted"),
            (other.words.prefix(16).joined(separator: " "), "do not match"),
            ("", "nothing was typed"),
        ] {
            guard case .refused(let message) = key.check(typed: typed) else {
                Issue.record("\(typed) was accepted")
                continue
            }
            #expect(message.contains(reason), "\(message)")
            #expect(!message.contains(key.words[0]) && !message.contains(key.words[1]))
        }
    }

    @Test("the printout carries the hex and the words, 16 on the line the officer types")
    func printout() {
        let key = KeyConfirmation(spkiSHA256: Self.spki)
        let text = key.printout(subject: "CN=Example Intermediate CA")
        #expect(text.contains("SPKI SHA-256: \(key.hex)\n"))
        #expect(text.contains("PGP words 1-16: \(key.words.prefix(16).joined(separator: " "))\n"))
        #expect(text.contains("PGP words 17-32: \(key.words.suffix(16).joined(separator: " "))\n"))
    }
}
