import NIOConcurrencyHelpers
import NIOCore

/// The ports the listeners actually bound (port 0 in tests lets the OS choose), available once
/// each server is running.
public final class BoundAddresses: Sendable {
    private struct State {
        var https: Int?
        var http: Int?
        var console: Int?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = NIOLockedValueBox(State())

    public init() {}

    public var httpsPort: Int? { state.withLockedValue { $0.https } }
    public var httpPort: Int? { state.withLockedValue { $0.http } }

    func record(https port: Int?) { update { $0.https = port } }
    func record(http port: Int?) { update { $0.http = port } }
    func record(console port: Int?) { update { $0.console = port } }

    /// The console listener's port once it is bound (nil before, or when it is not enabled).
    public var consolePort: Int? { state.withLockedValue { $0.console } }

    /// Waits up to `timeout` for the console listener to be bound; its port, or nil.
    public func waitForConsole(timeout: Duration = .seconds(10)) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let port = consolePort { return port }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return consolePort
    }

    private func update(_ change: (inout State) -> Void) {
        let ready = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            change(&state)
            guard state.https != nil, state.http != nil else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        ready.forEach { $0.resume() }
    }

    /// Waits until both listeners are bound and returns (https, http).
    public func waitUntilListening() async -> (https: Int, http: Int) {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLockedValue { state -> Bool in
                if state.https != nil, state.http != nil { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
        return state.withLockedValue { ($0.https ?? 0, $0.http ?? 0) }
    }
}
