import Foundation

/// The executable parts of a runbook (issue 6: "runbooks are executed").
///
/// In the Markdown, a fenced block whose info string is `sh run` is a step to execute; a `text
/// stdin` block just before it is what the person types at its prompts; a `text expect` block just
/// after it lists lines that must each appear in the step's output as a whole line (see
/// `RunbookScript.expectation(_:matchesLineIn:)`). Every other block is for people only. Steps run in order in one working directory, and variables a step assigns are
/// visible to the steps after it.
struct RunbookScript {
    struct Step {
        var line: Int
        var script: String
        var stdin: String
        var expected: [String]
    }

    var steps: [Step] = []

    init(markdown: String) {
        var pendingStdin = ""
        var lines = markdown.components(separatedBy: "\n").enumerated().makeIterator()
        while let (number, line) = lines.next() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("```"), trimmed.count > 3 else { continue }
            let info = trimmed.dropFirst(3).split(separator: " ").map(String.init)
            var body: [String] = []
            while let (_, inner) = lines.next(), !inner.trimmingCharacters(in: .whitespaces).hasPrefix("```") {
                body.append(inner)
            }
            let text = body.joined(separator: "\n")
            switch (info.first, info.dropFirst().first) {
            case ("sh", "run"):
                steps.append(Step(line: number + 1, script: text, stdin: pendingStdin, expected: []))
                pendingStdin = ""
            case ("text", "stdin"):
                pendingStdin = text + "\n"
            case ("text", "expect"):
                if !steps.isEmpty {
                    steps[steps.count - 1].expected += body.map(Self.trimmingTrailingWhitespace).filter { !$0.isEmpty }
                }
            default:
                break
            }
        }
    }

    /// The wildcard of a `text expect` line: any text (possibly none) within one output line.
    static let wildcard: Character = "\u{2026}"

    /// Whether `expectation` matches one whole line of `output`, both compared after trimming
    /// trailing whitespace. An expectation is literal except for `…` (U+2026), which stands for any
    /// text within the line, so `ok` matches only a line that is exactly `ok` (not `degraded: not
    /// ok`), and `…verify OK` matches `Response verify OK`. A substring match would let a runbook
    /// pass on the wrong output: the degraded health text contains `ok` too.
    static func expectation(_ expectation: String, matchesLineIn output: String) -> Bool {
        let pattern = trimmingTrailingWhitespace(expectation)
        return output.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .contains { candidate in Self.line(trimmingTrailingWhitespace(String(candidate)), matches: pattern) }
    }

    static func trimmingTrailingWhitespace(_ text: String) -> String {
        var text = Substring(text)
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }

    /// Literal pieces between wildcards must appear in order: the first at the start of the line,
    /// the last at its end.
    private static func line(_ line: String, matches pattern: String) -> Bool {
        let pieces = pattern.split(separator: wildcard, omittingEmptySubsequences: false).map(String.init)
        guard pieces.count > 1 else { return line == pattern }
        guard line.hasPrefix(pieces[0]) else { return false }
        var rest = Substring(line.dropFirst(pieces[0].count))
        for piece in pieces.dropFirst().dropLast() where !piece.isEmpty {
            guard let found = rest.range(of: piece) else { return false }
            rest = rest[found.upperBound...]
        }
        let last = pieces[pieces.count - 1]
        return rest.count >= last.count && rest.hasSuffix(last)
    }
}
