import Foundation

/// Ends processes a test left running in the background (a runbook's `appliance serve &`, a demo
/// kept serving), found by a string in their command line — typically the test's temporary
/// directory, which no unrelated process names.
public enum ProcessReaper {
    /// Sends SIGTERM to every process whose command line contains every one of `markers`, waits up to
    /// `grace` for them to exit, then SIGKILLs what is left. Never signals the calling process.
    /// - Returns: the PIDs that were signalled.
    @discardableResult
    public static func terminate(commandLineContaining markers: String..., grace: Duration = .seconds(3)) -> [Int32] {
        let targets = matching(markers)
        for pid in targets { kill(pid, SIGTERM) }
        let deadline = ContinuousClock.now.advanced(by: grace)
        while ContinuousClock.now < deadline, !matching(markers).isEmpty {
            usleep(100_000)
        }
        for pid in matching(markers) { kill(pid, SIGKILL) }
        return targets
    }

    /// PIDs whose `/proc/PID/cmdline` contains every one of `markers`, excluding this process.
    public static func matching(_ markers: String...) -> [Int32] { matching(markers) }

    static func matching(_ markers: [String]) -> [Int32] {
        let own = getpid()
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
        return pids.filter { pid in
            guard pid != own, let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            // Arguments are NUL-separated; a zombie has an empty command line and is skipped.
            let commandLine = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return markers.allSatisfy { commandLine.contains($0) }
        }
    }
}
