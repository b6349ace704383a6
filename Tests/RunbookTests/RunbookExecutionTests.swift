import Foundation
import TestSupport
import Testing

/// Every runbook's executable steps run in order against the real binaries, a SoftHSM token,
/// temporary media and (where the runbook needs one) a real appliance on loopback, so a runbook
/// that drifts from the code fails CI.
@Suite("Runbooks run as written", .serialized)
struct RunbookExecutionTests {
    static let runbooksDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Runbooks")

    static var executableRunbooks: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runbooksDirectory.path)) ?? []
        return names.filter { $0.hasSuffix(".md") }.sorted().filter { name in
            let text = (try? String(contentsOf: runbooksDirectory.appendingPathComponent(name), encoding: .utf8)) ?? ""
            return !RunbookScript(markdown: text).steps.isEmpty
        }
    }

    /// Every runbook, pinned by name: a runbook that loses its `sh run` markers, or a new one
    /// that nobody classified, fails here instead of silently dropping out of the run below.
    static let pinnedExecutable: Set<String> = [
        "agent-revocation.md", "appliance-install.md", "backup-and-restore.md", "ha-postgresql.md", "hsm-token-setup.md",
        "intermediate-renewal.md", "intermediate-signing.md", "root-ceremony.md", "root-crl-reissue.md",
        "troubleshooting.md",
    ]
    /// Prose only: the index, the threat model and the machine build-out.
    static let pinnedProse: Set<String> = ["README.md", "ceremony-machine.md", "threat-model.md"]

    @Test("every runbook is either executed or explicitly prose; none drops out unnoticed")
    func everyRunbookIsPinned() throws {
        let all = Set(try FileManager.default.contentsOfDirectory(atPath: Self.runbooksDirectory.path).filter { $0.hasSuffix(".md") })
        #expect(
            Set(Self.executableRunbooks) == Self.pinnedExecutable,
            "executable runbooks changed: \(Set(Self.executableRunbooks).symmetricDifference(Self.pinnedExecutable).sorted())")
        #expect(
            all == Self.pinnedExecutable.union(Self.pinnedProse),
            "unclassified or missing runbooks: \(all.symmetricDifference(Self.pinnedExecutable.union(Self.pinnedProse)).sorted())")
    }

    @Test("runbook steps succeed and show what the runbook says", arguments: executableRunbooks)
    func run(runbook name: String) throws {
        let text = try String(contentsOf: Self.runbooksDirectory.appendingPathComponent(name), encoding: .utf8)
        let script = RunbookScript(markdown: text)
        let work = try TemporaryDirectory("runbook")
        defer {
            // A runbook may leave an appliance (or the demo) serving in the background.
            ProcessReaper.terminate(commandLineContaining: work.path)
            work.remove()
        }
        // Rehearsals run `appliance serve` as root, which drops to `nobody`: it must reach its state.
        chmod(work.path, 0o755)
        let state = work.file(".runbook-state")
        FileManager.default.createFile(atPath: state, contents: Data())
        let bash = try ExternalTool("bash")
        let environment = [
            "PATH": ProductBinary.productsDirectory.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "WORK": work.path,
            "RUNBOOKS": Self.runbooksDirectory.path,
            "RUNBOOK_STATE": state,
        ]
        for step in script.steps {
            // `set -a` exports every assignment, and the state file carries them to the next step.
            let wrapped = """
                set -euo pipefail -a
                cd "$WORK"
                source "$RUNBOOK_STATE"
                \(step.script)
                export -p > "$RUNBOOK_STATE"
                """
            let result = try bash.run(["-c", wrapped], stdin: Data(step.stdin.utf8), environment: environment, timeout: 300)
            try #require(result.succeeded, "\(name):\(step.line) failed (\(result.status)):\n\(step.script)\n--- output ---\n\(result.output)")
            for line in step.expected {
                // stdout and stderr separately: a stdout without a final newline must not glue its last
                // line to stderr's first.
                let matched =
                    RunbookScript.expectation(line, matchesLineIn: result.stdout)
                    || RunbookScript.expectation(line, matchesLineIn: result.stderr)
                #expect(matched, "\(name):\(step.line): expected a whole line '\(line)' in:\n\(result.output)")
            }
        }
    }
}
