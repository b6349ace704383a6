import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 11 part 5 / issue 19: a running `ceremony run` (which will hold the token PIN) has no
/// core file limit and is not dumpable, so even a process of its own user cannot read its memory
/// or environment. Shown on the real binary, waiting at its first prompt, run as `nobody`.
@Suite("ceremony run forbids core dumps and tracing")
struct CeremonyProcessProtectionTests {
    @Test("a running ceremony has RLIMIT_CORE 0 and its /proc files are closed to its own user")
    func undumpable() throws {
        try #require(geteuid() == 0, "needs root to run the ceremony and the attacker as nobody")
        let harness = try CeremonyHarness()
        defer { harness.remove() }
        chmod(harness.work.path, 0o755)
        chmod(harness.media, 0o777)
        let plan = harness.work.file("root.yaml")
        try harness.rootPlan().write(toFile: plan, atomically: true, encoding: .utf8)
        chmod(plan, 0o644)
        let fifo = harness.work.file("stdin")
        let input = try ProcessExposure.holdFIFO(at: fifo)
        defer { close(input) }

        // Control: an ordinary process of nobody is readable by another process of nobody, so the
        // check below can tell the difference.
        let setpriv = try ExternalTool("setpriv")
        let asNobody = ["--reuid=\(ProcessExposure.nobody)", "--regid=\(ProcessExposure.nobody)", "--clear-groups", "--"]
        let control = try setpriv.start(asNobody + ["sleep", "60"])
        defer { control.stop(signal: SIGKILL) }
        // Readable only once setpriv has dropped to nobody and exec'd sleep (the exec makes it
        // dumpable again): poll for that, bounded, instead of guessing how long it takes.
        var controlReadable = false
        let deadline = Date().addingTimeInterval(20)
        while !controlReadable && Date() < deadline {
            controlReadable = try ProcessExposure.readEnviron(pid: control.pid).succeeded
            if !controlReadable { usleep(50_000) }
        }
        #expect(controlReadable, "the control process should be readable")

        let ceremony = try setpriv.start(
            // `prompt`: a PIN file of the test's user would be refused by the check `run` starts
            // with (not owned by nobody), and the clock is refused before any PIN is asked for.
            asNobody + [
                ProductBinary.path("ceremony"), "run", plan, "--media", harness.media, "--token", harness.token.label,
                "--pin-source", "prompt",
            ],
            environment: harness.token.environment, stdin: fifo)
        defer { ceremony.stop(signal: SIGKILL) }
        try #require(ceremony.waitForOutput("The clock reads", timeout: 30), "ceremony did not reach its prompt: \(ceremony.output)")

        let limit = try #require(ProcessExposure.coreFileLimit(pid: ceremony.pid))
        #expect(limit.soft == "0" && limit.hard == "0", "Max core file size \(limit)")
        let attack = try ProcessExposure.readEnviron(pid: ceremony.pid)
        #expect(!attack.succeeded && attack.stderr.contains("Permission denied"), "nobody read the ceremony's environment: \(attack.output)")
        // A non-dumpable process's /proc files belong to root although the process runs as nobody.
        var info = stat()
        #expect(stat("/proc/\(ceremony.pid)/mem", &info) == 0 && info.st_uid == 0)

        // Refuse the clock: the ceremony ends without touching the token.
        _ = "no\n".withCString { write(input, $0, 3) }
        #expect(ceremony.waitForOutput("__exit__", timeout: 20) == false && !ceremony.isRunning)
    }
}
