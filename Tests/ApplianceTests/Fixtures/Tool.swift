import Foundation
import TestSupport

/// Runs an independent tool through TestSupport's `ExternalTool` (files, clean signal mask) on a
/// Dispatch thread.
enum Tool {
    /// Runs the tool on a Dispatch thread: blocking the (two-thread) cooperative pool while the
    /// server under test needs it would deadlock the test.
    static func run(_ name: String, _ arguments: [String], stdin: Data = Data(), timeout: TimeInterval = 60) async throws -> ToolResult {
        try await blocking { try runBlocking(name, arguments, stdin: stdin, timeout: timeout) }
    }

    static func runBlocking(_ name: String, _ arguments: [String], stdin: Data, timeout: TimeInterval) throws -> ToolResult {
        let result = try ExternalTool(name).run(arguments, stdin: stdin, timeout: timeout)
        return ToolResult(status: result.status, stdout: result.stdout, stderr: result.stderr)
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

/// Runs blocking work on a thread of its own and awaits it without occupying a cooperative
/// thread. Not Dispatch's global queue: on Linux its few threads (about one per core) are also
/// what the cooperative pool's work competes for, so many tools waiting at once (curl, openssl
/// while the in-process appliance must answer them) could starve the servers under test.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await onOwnThread(work)
}
