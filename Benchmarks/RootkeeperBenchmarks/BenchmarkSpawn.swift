import Foundation
import PKICore

#if canImport(Glibc)
    import Glibc
#endif

/// Starts a peer tool with posix_spawn and an empty signal mask (the Swift runtime blocks some
/// signals on its threads, and `openssl speed` needs SIGALRM), waits with wait4 so the peak RSS
/// is that child's own (ru_maxrss, kB).
enum BenchmarkSpawn {
    static func run(_ arguments: [String], stdout: String, stderr: String) throws -> (Int32, rusage) {
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGALRM)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        guard posix_spawn(&pid, arguments[0], &actions, &attributes, &argv, environ) == 0 else {
            throw PKIError.invalidParameter("cannot start \(arguments[0])")
        }
        var status: Int32 = 0
        var usage = rusage()
        _ = wait4(pid, &status, 0, &usage)
        return (status, usage)
    }

    /// Runs the tool and returns its standard output (nil when it cannot start or fails).
    static func output(_ arguments: [String]) -> String? {
        let path = NSTemporaryDirectory() + "rk-peer-\(UUID().uuidString).txt"
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard let (status, _) = try? run(arguments, stdout: path, stderr: "/dev/null"), status == 0 else { return nil }
        return try? String(contentsOfFile: path, encoding: .utf8)
    }
}
