import Foundation

/// Runs an independent command-line tool (openssl, pkcs11-tool, curl, softhsm2-util …) the way a
/// person would, so tests can check our output with something that is not our own parser.
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

    /// Runs the tool to completion. `stdin` is written and closed; `environment` entries are added
    /// to the current environment. A run longer than `timeout` seconds is terminated.
    @discardableResult
    public func run(
        _ arguments: [String],
        stdin: Data? = nil,
        environment: [String: String] = [:],
        currentDirectory: String? = nil,
        timeout: TimeInterval = 120
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }

        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        // Drain both pipes concurrently so a chatty tool cannot block on a full pipe.
        let outData = LockedData(), errData = LockedData()
        let group = DispatchGroup()
        for (handle, sink) in [(out.fileHandleForReading, outData), (err.fileHandleForReading, errData)] {
            group.enter()
            DispatchQueue.global().async {
                sink.set(handle.readDataToEndOfFile())
                group.leave()
            }
        }
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try? input.fileHandleForWriting.close()
        if group.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            group.wait()
        }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: outData.get(), as: UTF8.self),
            stderr: String(decoding: errData.get(), as: UTF8.self)
        )
    }
}

/// A tiny lock-protected buffer used to collect pipe output from another thread.
final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}
