import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 19: "RLIMIT_CORE=0 is checked nowhere". `appliance serve` run as an unprivileged user,
/// waiting for its key passphrase on a descriptor: from that point its core-file limit is 0 and
/// another process of the same user cannot read its /proc files (PR_SET_DUMPABLE 0).
@Suite("appliance serve forbids core dumps and tracing")
struct ServeProcessProtectionTests {
    @Test("a running appliance serve has RLIMIT_CORE 0 and is not readable by its own user")
    func undumpable() throws {
        try #require(geteuid() == 0, "needs root to run serve and the attacker as nobody")
        let directory = try TemporaryDirectory("serve-protection")
        defer { directory.remove() }
        chmod(directory.path, 0o777)
        let fifo = directory.file("passphrase")
        let input = try ProcessExposure.holdFIFO(at: fifo)
        defer { close(input) }
        let asNobody = ["--reuid=\(ProcessExposure.nobody)", "--regid=\(ProcessExposure.nobody)", "--clear-groups", "--"]
        let serve = try ExternalTool("setpriv").start(
            asNobody + [ProductBinary.path("appliance"), "serve", "--state-dir", directory.file("state"), "--passphrase-fd", "0"], stdin: fifo)
        defer { serve.stop(signal: SIGKILL) }
        // It blocks reading the passphrase; the protection is applied before that read.
        try #require(
            ProcessExposure.waitForZeroCoreLimit(pid: serve.pid),
            "serve never set RLIMIT_CORE to 0: \(ProcessExposure.coreFileLimit(pid: serve.pid).map { "\($0)" } ?? "?") \(serve.output)")
        #expect(serve.isRunning, "serve exited: \(serve.output)")
        let attack = try ProcessExposure.readEnviron(pid: serve.pid)
        #expect(!attack.succeeded && attack.stderr.contains("Permission denied"), "nobody read serve's environment: \(attack.output)")
        var info = stat()
        #expect(stat("/proc/\(serve.pid)/mem", &info) == 0 && info.st_uid == 0)
    }
}
