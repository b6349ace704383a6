import Foundation

/// Runs blocking work (a tool, a socket wait) on a thread of its own and awaits it without
/// occupying a cooperative thread. Not Dispatch's global queue: on Linux its few threads (about
/// one per core) are what the cooperative pool competes for, so many tools or sockets waiting at
/// once would starve the in-process servers the tests talk to.
public func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
