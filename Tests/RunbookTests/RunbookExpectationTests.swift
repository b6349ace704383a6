import Testing

/// A `text expect` line matches a whole output line, with `…` as the only wildcard, so a runbook
/// cannot pass on output that merely contains the expected words (issue 19).
@Suite("Runbook expect lines match whole lines")
struct RunbookExpectationTests {
    @Test("a plain expectation matches only a line that is exactly it")
    func wholeLine() {
        #expect(RunbookScript.expectation("ok", matchesLineIn: "starting\nok\n"))
        #expect(RunbookScript.expectation("ok", matchesLineIn: "ok   \t"), "trailing whitespace is ignored")
        #expect(!RunbookScript.expectation("ok", matchesLineIn: "degraded: not ok\n"))
        #expect(!RunbookScript.expectation("ok", matchesLineIn: "okay\n"))
        #expect(!RunbookScript.expectation("ok", matchesLineIn: " ok\n"), "leading whitespace is part of the line")
        #expect(!RunbookScript.expectation("verify OK", matchesLineIn: "Response verify OK\n"))
    }

    @Test("… stands for any text within one line, never across lines")
    func wildcard() {
        #expect(RunbookScript.expectation("…verify OK", matchesLineIn: "Response verify OK\n"))
        #expect(RunbookScript.expectation("agent.crt: …", matchesLineIn: "agent.crt: good\n"))
        #expect(!RunbookScript.expectation("agent.crt: …", matchesLineIn: "/tmp/x/agent.crt: good\n"))
        #expect(RunbookScript.expectation("600 …/agent.key", matchesLineIn: "600 agent-web-01/agent.key\n"))
        #expect(RunbookScript.expectation("revoked … reason keyCompromise", matchesLineIn: "revoked 2 certificates, reason keyCompromise"))
        #expect(RunbookScript.expectation("…", matchesLineIn: ""), "a lone wildcard matches any line")
        #expect(!RunbookScript.expectation("…verify OK", matchesLineIn: "verify OK, not really\n"))
        #expect(!RunbookScript.expectation("agent.crt: …good", matchesLineIn: "agent.crt: revoked\ngood\n"))
        #expect(!RunbookScript.expectation("a…a", matchesLineIn: "a\n"), "the pieces may not overlap")
    }

    @Test("a text expect block keeps its lines without trailing whitespace and drops blank ones")
    func parsing() {
        let markdown = ["```sh run", "echo hi", "```", "", "```text expect", "hi  \t", "   ", "…there", "```"]
        let script = RunbookScript(markdown: markdown.joined(separator: "\n"))
        #expect(script.steps.count == 1)
        #expect(script.steps.first?.expected == ["hi", "…there"])
    }
}
