import Foundation

/// The SPKI SHA-256 of an intermediate CA key as it crosses from the appliance to the root
/// ceremony on paper: the appliance prints the hex and its PGP words, the officers put the hex in
/// the plan, and at signing time the officer types the words from that printout.
///
/// Typing words from paper, rather than a short hex prefix from the screen, means the match is
/// made against what the appliance printed: the ceremony never shows the words it expects.
/// At least ``minimumTypedWords`` words are required (one byte per word, so 128 bits): a forged
/// key matching them is a second-preimage search on SHA-256, not a 32-bit grind.
public struct KeyConfirmation: Sendable, Equatable {
    /// 16 words = 16 bytes = 128 bits of the SPKI SHA-256.
    public static let minimumTypedWords = 16

    /// The SPKI SHA-256 (32 bytes).
    public let spkiSHA256: [UInt8]

    public init(spkiSHA256: [UInt8]) {
        self.spkiSHA256 = spkiSHA256
    }

    /// The hash as lowercase hex.
    public var hex: String { Hex.encode(spkiSHA256) }

    /// All 32 PGP words of the hash.
    public var words: [String] { PGPWordList.words(for: spkiSHA256) }

    /// What the appliance prints and writes for the operator to hand over: the hex, then the
    /// words in two lines (the officer types at least the first line).
    public func printout(subject: String) -> String {
        let words = self.words
        return """
            Rootkeeper intermediate CA key: hand this page to the root ceremony officers
            subject: \(subject)
            SPKI SHA-256: \(hex)
            PGP words 1-16: \(words.prefix(16).joined(separator: " "))
            PGP words 17-32: \(words.dropFirst(16).joined(separator: " "))
            The officers copy the SPKI SHA-256 into the intermediate plan (expected-spki-sha256) and
            type PGP words 1-16 when the ceremony asks for them.

            """
    }

    /// The outcome of comparing what the officer typed with this key: a value, not a throw,
    /// since a mismatch is a policy decision (docs/conventions.md#outcomes-are-values).
    public enum Outcome: Sendable, Equatable {
        /// Matched; `words` is how many were typed (16 to 32).
        case confirmed(words: Int)
        /// Refused, with the reason to show the officer (never the expected words).
        case refused(String)
    }

    /// Checks typed words against the hash: at least 16, each from the list of its position, and
    /// equal to the same number of leading bytes of the hash.
    public func check(typed: String) -> Outcome {
        let trimmed = typed.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return .refused("nothing was typed") }
        let compact = trimmed.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: " ", with: "")
        if compact.allSatisfy(\.isHexDigit) {
            return .refused(
                "hex digits are not accepted: type PGP words 1-\(Self.minimumTypedWords) from the appliance operator's printout")
        }
        let decoded: [UInt8]
        switch PGPWordList.bytes(from: trimmed) {
        case .failure(.unknownWord(let position, let word)):
            return .refused("word \(position) ('\(word)') is not a PGP word; check the spelling on the printout")
        case .failure(.wrongPosition(let position, let word)):
            return .refused("word \(position) ('\(word)') belongs in the other column: a word was dropped, repeated or swapped")
        case .success(let bytes):
            decoded = bytes
        }
        guard decoded.count >= Self.minimumTypedWords else {
            return .refused(
                "\(decoded.count) words typed; at least \(Self.minimumTypedWords) are needed (PGP words 1-\(Self.minimumTypedWords) of the printout)")
        }
        guard decoded.count <= spkiSHA256.count else {
            return .refused("\(decoded.count) words typed; the SPKI SHA-256 has only \(spkiSHA256.count)")
        }
        guard Array(spkiSHA256.prefix(decoded.count)) == decoded else {
            return .refused("the typed words do not match the CSR's key")
        }
        return .confirmed(words: decoded.count)
    }
}
