import Foundation
import TestSupport
import Testing

/// docs/quick-start.md#shell-completion: every binary prints a bash completion script (from
/// swift-argument-parser) that bash parses and that registers the tool's completion function.
@Suite("Shell completion scripts")
struct ShellCompletionTests {
    @Test("ceremony, appliance and agent each print a bash completion script bash accepts", arguments: ["ceremony", "appliance", "agent"])
    func bashScript(tool: String) throws {
        let result = try ProductBinary.tool(tool).run(["--generate-completion-script", "bash"])
        #expect(result.succeeded, "\(result.output)")
        #expect(result.stdout.contains("complete "), "no `complete` line:\n\(result.stdout.suffix(400))")
        // bash parses it, and sourcing it registers a completion for the tool.
        let work = try TemporaryDirectory("completion")
        defer { work.remove() }
        let script = work.file("\(tool).bash")
        try result.stdout.write(toFile: script, atomically: true, encoding: .utf8)
        let bash = try ExternalTool("bash")
        let syntax = try bash.run(["-n", script])
        #expect(syntax.succeeded, "\(syntax.output)")
        let registered = try bash.run(["-c", "source \"$1\" && complete -p \(tool)", "bash", script])
        #expect(registered.succeeded && registered.stdout.contains(tool), "\(registered.output)")
        // The subcommands are offered (first level).
        let subcommand = ["ceremony": "inspect", "appliance": "agents", "agent": "renew"][tool] ?? ""
        #expect(result.stdout.contains(subcommand))
    }
}
