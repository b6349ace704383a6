import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs an independent command-line tool (openssl, pkcs11-tool, curl, softhsm2-util …) the way a
/// person would, so tests can check our output with something that is not our own parser.
///
/// Two details matter when many tests run at once in one process:
/// - the child is started with posix_spawn and an *empty signal mask* with default dispositions
///   (Swift runtime threads block signals such as SIGALRM and SIGTERM, and Foundation's `Process`
///   passes that mask on, so `openssl speed` or a polite kill would never take effect);
/// - output goes to files, not pipes: reading pipes from another thread lets an EINTR reach a
///   Foundation `try!`, which crashes the whole test run.
/// ``runAsync(_:stdin:environment:currentDirectory:timeout:)`` waits on a thread of its own (``onOwnThread(_:)``), so a
/// test does not block the two-thread cooperative pool while a server in the same process needs it.
public struct ExternalTool: Sendable {
    /// What a finished run produced.
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        /// stdout and stderr together, for `contains` checks on tools that mix them.
        public var output: String { stdout + stderr }
        public var succeeded: Bool { status == 0 }
    }

    public struct NotFound: Error, CustomStringConvertible {
        public let name: String
        public var description: String { "\(name) is not installed (install it with scripts/install-deps.sh)" }
    }

    /// Absolute path of the executable.
    public let path: String

    /// Finds `name` on PATH (plus /usr/sbin and /sbin). A missing tool is an error: a test that
    /// needs an independent verifier must fail, not skip, when it is absent.
    public init(_ name: String) throws {
        if name.hasPrefix("/") {
            guard FileManager.default.isExecutableFile(atPath: name) else { throw NotFound(name: name) }
            self.path = name
            return
        }
        let searchPath = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        for dir in searchPath.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) {
                self.path = candidate
                return
            }
        }
        throw NotFound(name: name)
    }

    /// Runs the tool to completion. `stdin` is the tool's whole standard input; `environment`
    /// entries are added to the current environment. A run longer than `timeout` seconds is killed.
    @discardableResult
    public func run(
        _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
        currentDirectory: String? = nil, timeout: TimeInterval = 120
    ) throws -> Result {
        let scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = scratch.appendingPathComponent("in").path
        let output = scratch.appendingPathComponent("out").path
        let errors = scratch.appendingPathComponent("err").path
        try (stdin ?? Data()).write(to: URL(fileURLWithPath: input))

        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        let pid = try spawn(arguments, environment: env, stdin: input, stdout: output, stderr: errors, currentDirectory: currentDirectory)
        let status = Self.wait(pid: pid, timeout: timeout)
        return Result(
            status: status,
            stdout: String(decoding: FileManager.default.contents(atPath: output) ?? Data(), as: UTF8.self),
            stderr: String(decoding: FileManager.default.contents(atPath: errors) ?? Data(), as: UTF8.self))
    }

    /// ``run(_:stdin:environment:currentDirectory:timeout:)`` on a thread of its own.
    @discardableResult
    public func runAsync(
        _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
        currentDirectory: String? = nil, timeout: TimeInterval = 120
    ) async throws -> Result {
        try await onOwnThread {
            try self.run(arguments, stdin: stdin, environment: environment, currentDirectory: currentDirectory, timeout: timeout)
        }
    }

    /// A tool started in the background (a server, the demo), with its output in a file.
    public final class Running: @unchecked Sendable {
        public let pid: pid_t
        let outputPath: String
        let scratch: URL
        /// The raw wait status once it has exited.
        public private(set) var exitStatus: Int32?

        init(pid: pid_t, outputPath: String, scratch: URL) {
            self.pid = pid
            self.outputPath = outputPath
            self.scratch = scratch
        }

        /// Everything it printed so far (stdout and stderr together).
        public var output: String { String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self) }

        /// Whether it is still running (reaps it when it has exited).
        public var isRunning: Bool {
            if exitStatus != nil { return false }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exitStatus = status
                return false
            }
            return true
        }

        /// Waits (bounded) until `text` appears in the output or the process exits; true when it appeared.
        public func waitForOutput(_ text: String, timeout: TimeInterval) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if output.contains(text) { return true }
                if !isRunning { return output.contains(text) }
                usleep(100_000)
            }
            return false
        }

        /// The ports an `appliance serve` started with port 0 reports once it listens
        /// (`listening: https://HOST:PORT http://HOST:PORT`), waiting up to `timeout` seconds; nil
        /// if it exits or stays silent. Reading the port back from the server is the only way
        /// that cannot race another test for a port chosen in advance.
        public func listeningPorts(timeout: TimeInterval = 60) -> (https: Int, http: Int)? {
            guard waitForOutput("listening: https://", timeout: timeout),
                let match = output.firstMatch(of: /listening: https:\/\/\S+:(\d+) http:\/\/\S+:(\d+)/),
                let https = Int(match.1), let http = Int(match.2)
            else { return nil }
            return (https, http)
        }

        /// Sends `signal`, waits up to `timeout` seconds, then SIGKILLs; removes the output file.
        public func stop(signal: Int32 = SIGINT, timeout: TimeInterval = 15) {
            if isRunning { kill(pid, signal) }
            let deadline = Date().addingTimeInterval(timeout)
            while isRunning && Date() < deadline { usleep(50_000) }
            if isRunning {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
                exitStatus = status
            }
            try? FileManager.default.removeItem(at: scratch)
        }
    }

    /// Starts the tool in the background with a clean signal mask; stdout and stderr go to one file.
    /// `stdin` is a path opened read-only as its standard input (a FIFO keeps it waiting for input).
    public func start(_ arguments: [String], environment: [String: String] = [:], stdin: String = "/dev/null") throws -> Running {
        let scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let output = scratch.appendingPathComponent("out").path
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        let pid = try spawn(arguments, environment: env, stdin: stdin, stdout: output, stderr: output, currentDirectory: nil)
        return Running(pid: pid, outputPath: output, scratch: scratch)
    }

    private func spawn(
        _ arguments: [String], environment: [String: String], stdin: String, stdout: String, stderr: String,
        currentDirectory: String?
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if stderr == stdout {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        // glibc's addchdir_np is not imported into Swift: `env --chdir` changes directory instead.
        let command = currentDirectory.map { ["/usr/bin/env", "--chdir=\($0)", path] } ?? [path]
        let argv: [UnsafeMutablePointer<CChar>?] = (command + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        guard result == 0 else { throw TestFailure("cannot start \(path): \(String(cString: strerror(result)))") }
        return pid
    }

    /// Waits for `pid`, killing it after `timeout` seconds; returns the exit status (128+signal
    /// when it was killed by a signal, as a shell reports it).
    private static func wait(pid: pid_t, timeout: TimeInterval) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { break }
            if result < 0 && errno != EINTR { return -1 }
            if Date() > deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                break
            }
            usleep(5_000)
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG by hand: the macros are not imported into Swift.
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
