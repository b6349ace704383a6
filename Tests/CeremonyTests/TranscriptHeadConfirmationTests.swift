import PKICore
import Testing

@testable import CeremonyKit

/// The paper-log check at the start of a ceremony: what counts as typing the previous head.
@Suite("The officer types the previous transcript head from the paper log")
struct TranscriptHeadConfirmationTests {
    static let head = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    static var words: [String] { PGPWordList.words(for: Hex.decode(head, typed: true) ?? []) }

    @Test("8 words, all 32 words, or 16+ hex digits of the head are accepted")
    func accepted() {
        #expect(TranscriptHeadConfirmation.matches(Array(Self.words.prefix(8)), head: Self.head))
        #expect(TranscriptHeadConfirmation.matches(Self.words, head: Self.head))
        #expect(TranscriptHeadConfirmation.matches(["9f86", "d081", "884c", "7d65"], head: Self.head))
    }

    @Test("too few words, a wrong or swapped word, too few hex digits, or nothing are refused")
    func refused() {
        #expect(!TranscriptHeadConfirmation.matches(Array(Self.words.prefix(7)), head: Self.head))
        var swapped = Array(Self.words.prefix(8))
        swapped.swapAt(2, 3)
        #expect(!TranscriptHeadConfirmation.matches(swapped, head: Self.head))
        var wrong = Array(Self.words.prefix(8))
        wrong[7] = "aardvark"
        #expect(!TranscriptHeadConfirmation.matches(wrong, head: Self.head))
        #expect(!TranscriptHeadConfirmation.matches(["9f86d081884c7d6"], head: Self.head))
        #expect(!TranscriptHeadConfirmation.matches([], head: Self.head))
    }
}
