import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What another process can learn about a running one: its core-file limit, and whether a
/// process of a given user can read its `/proc/<pid>/environ` (the same ptrace access check that
/// guards `/proc/<pid>/mem`, proc(5)). Used to show `ceremony` and `appliance serve` are
/// undumpable while they run.
public enum ProcessExposure {
    /// The unprivileged account an attacker runs as (and the product, when the test drops to it).
    public static let nobody: uid_t = 65534

    /// The "Max core file size" line of `/proc/<pid>/limits`, split into soft and hard limits.
    public static func coreFileLimit(pid: pid_t) -> (soft: String, hard: String)? {
        guard let limits = try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8),
            let line = limits.split(separator: "\n").first(where: { $0.hasPrefix("Max core file size") })
        else { return nil }
        let fields = line.dropFirst("Max core file size".count).split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 2 else { return nil }
        return (String(fields[0]), String(fields[1]))
    }

    /// Waits (bounded) until `pid`'s core-file limit is 0/0, i.e. the process has applied its
    /// protection; false when it did not within `timeout` seconds.
    public static func waitForZeroCoreLimit(pid: pid_t, timeout: TimeInterval = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let limit = coreFileLimit(pid: pid), limit.soft == "0", limit.hard == "0" { return true }
            usleep(100_000)
        }
        return false
    }

    /// Tries to read `/proc/<pid>/environ` as `uid` (with `setpriv`, groups cleared); returns the
    /// result of that attempt (success means the environment was readable).
    public static func readEnviron(pid: pid_t, asUID uid: uid_t = nobody) throws -> ExternalTool.Result {
        try ExternalTool("setpriv").run(["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--", "cat", "/proc/\(pid)/environ"])
    }

    /// A FIFO at `path`, opened read-write by the caller so that a child opening it for reading
    /// does not block and then waits on it for input. Close the descriptor to send end of file.
    public static func holdFIFO(at path: String) throws -> Int32 {
        guard mkfifo(path, 0o666) == 0 else { throw TestFailure("mkfifo \(path): \(String(cString: strerror(errno)))") }
        chmod(path, 0o666)
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw TestFailure("open \(path): \(String(cString: strerror(errno)))") }
        return fd
    }
}
