import Foundation

/// The executable parts of a runbook (issue 6: "runbooks are executed").
///
/// In the Markdown, a fenced block whose info string is `sh run` is a step to execute; a `text
/// stdin` block just before it is what the person types at its prompts; a `text expect` block just
/// after it lists lines that must each appear in the step's output. Every other block is for
/// people only. Steps run in order in one working directory, and variables a step assigns are
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
                if !steps.isEmpty { steps[steps.count - 1].expected += body.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty } }
            default:
                break
            }
        }
    }
}
