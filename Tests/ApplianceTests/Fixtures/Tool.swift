import Foundation
import TestSupport

/// Runs an independent tool with stdin/stdout/stderr redirected to files rather than pipes.
///
/// Why not `ExternalTool.run`: its `FileHandle.readDataToEndOfFile()` on pipes traps on EINTR
/// (Foundation `try!`) when a SIGCHLD from another test's process lands on the reading thread,
/// which crashes the whole test run when many tools run in parallel. Files need no concurrent reads.
enum Tool {
    /// Runs the tool on a Dispatch thread: blocking the (two-thread) cooperative pool while the
    /// server under test needs it would deadlock the test.
    static func run(_ name: String, _ arguments: [String], stdin: Data = Data(), timeout: TimeInterval = 60) async throws -> ToolResult {
        try await blocking { try runBlocking(name, arguments, stdin: stdin, timeout: timeout) }
    }

    static func runBlocking(_ name: String, _ arguments: [String], stdin: Data, timeout: TimeInterval) throws -> ToolResult {
        let tool = try ExternalTool(name)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = scratch.appendingPathComponent("in"), output = scratch.appendingPathComponent("out"), error = scratch.appendingPathComponent("err")
        try stdin.write(to: input)
        FileManager.default.createFile(atPath: output.path, contents: nil)
        FileManager.default.createFile(atPath: error.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool.path)
        process.arguments = arguments
        process.standardInput = try FileHandle(forReadingFrom: input)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: error)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                break
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        return ToolResult(
            status: process.terminationStatus,
            stdout: String(decoding: (try? Data(contentsOf: output)) ?? Data(), as: UTF8.self),
            stderr: String(decoding: (try? Data(contentsOf: error)) ?? Data(), as: UTF8.self))
    }
}

/// What a finished tool run produced.
struct ToolResult: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String
    var output: String { stdout + stderr }
    var succeeded: Bool { status == 0 }
}

/// Runs blocking work on a Dispatch thread and awaits it without occupying a cooperative thread.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try work() })
        }
    }
}
