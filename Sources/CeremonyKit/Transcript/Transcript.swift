import Crypto
import Foundation
import PKICore

#if canImport(Glibc)
    import Glibc
#endif

/// The hash-chained ceremony record on the media (`transcript.jsonl`, docs/ceremony.md#transcript).
///
/// Every entry carries the hash of the previous one, so an auditor can replay the file offline
/// (``verify(path:)``) and find the first entry that was edited, removed or inserted. It is never
/// signed with the root key: its integrity rests on the head hash that witnesses read aloud and
/// write down at the close of each ceremony (typed back at the start of the next,
/// ``TranscriptHeadConfirmation``), and on the head the token's ``RootAnchor`` keeps. A transcript
/// that is simply deleted or cut is caught by those two, not by the chain.
public final class Transcript {
    public let path: String
    private let clock: any PKIClock
    private(set) public var head: String
    private(set) public var count: Int

    /// Opens (or starts) the transcript at `path`, refusing one that does not verify: a ceremony
    /// never extends a broken record.
    public init(path: String, clock: any PKIClock) throws {
        self.path = path
        self.clock = clock
        let state = try Self.verify(path: path)
        head = state.head
        count = state.count
    }

    /// Appends one entry and flushes it to the media before returning.
    @discardableResult
    public func append(
        actor: TranscriptEntry.Actor, event: String, inputs: [String: String] = [:], outputs: [String: String] = [:],
        token: TranscriptEntry.Token? = nil, details: [String: String] = [:]
    ) throws -> TranscriptEntry {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        var entry = TranscriptEntry(
            seq: count + 1, time: formatter.string(from: clock.now()), actor: actor, event: event, inputs: inputs,
            outputs: outputs, token: token, details: details, prev: head, hash: "")
        entry.hash = try entry.computedHash()
        var bytes = [UInt8](try entry.line())
        bytes.append(UInt8(ascii: "\n"))

        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CeremonyError.transcript("cannot open \(path) for appending: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CeremonyError.transcript("cannot write to \(path): \(String(cString: strerror(errno)))")
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw CeremonyError.transcript("cannot flush \(path) to the media: \(String(cString: strerror(errno)))") }
        head = entry.hash
        count += 1
        return entry
    }

    /// The result of replaying a transcript.
    public struct State: Sendable, Equatable {
        public var count: Int
        public var head: String
        public var entries: [TranscriptEntry]
    }

    /// Replays the transcript at `path` and checks every entry: canonical form, hash, chain and
    /// sequence. A missing file is an empty transcript. Throws naming the first broken line.
    public static func verify(path: String) throws -> State {
        guard FileManager.default.fileExists(atPath: path) else { return State(count: 0, head: TranscriptEntry.genesis, entries: []) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CeremonyError.transcript("cannot read \(path)")
        }
        return try verify(contents: data)
    }

    /// Replays transcript bytes as ``verify(path:)`` does (also the fuzz target `transcript`).
    public static func verify(contents data: Data) throws -> State {
        var head = TranscriptEntry.genesis
        var entries: [TranscriptEntry] = []
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            let number = index + 1
            if line.isEmpty {
                if index == lines.count - 1 { break }
                throw CeremonyError.transcript("line \(number) is empty: the transcript was edited")
            }
            func broken(_ why: String) -> CeremonyError { .transcript("line \(number) is broken: \(why)") }
            let entry: TranscriptEntry
            do {
                entry = try JSONDecoder().decode(TranscriptEntry.self, from: Data(line))
            } catch {
                throw broken("not a valid transcript entry")
            }
            guard try entry.line() == Data(line) else { throw broken("not in canonical form (edited by hand?)") }
            guard entry.seq == number else { throw broken("sequence number \(entry.seq), expected \(number)") }
            guard entry.prev == head else { throw broken("does not chain to the entry before it") }
            guard try entry.computedHash() == entry.hash else { throw broken("its hash does not match its content") }
            head = entry.hash
            entries.append(entry)
        }
        return State(count: entries.count, head: head, entries: entries)
    }

    /// The head hash as witnesses read it: hex in groups of four, and the PGP words of its bytes.
    public static func announce(head: String) -> (hex: String, words: String) {
        let grouped = stride(from: 0, to: head.count, by: 4).map { offset -> String in
            let start = head.index(head.startIndex, offsetBy: offset)
            return String(head[start..<head.index(start, offsetBy: min(4, head.count - offset))])
        }.joined(separator: " ")
        return (grouped, PGPWordList.words(for: Hex.decode(head, typed: true) ?? []).joined(separator: " "))
    }
}
