import NIOConcurrencyHelpers
import NIOCore

/// The ports the listeners actually bound (port 0 in tests lets the OS choose), available once
/// each server is running.
public final class BoundAddresses: Sendable {
    private struct State {
        var https: Int?
        var http: Int?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = NIOLockedValueBox(State())

    public init() {}

    public var httpsPort: Int? { state.withLockedValue { $0.https } }
    public var httpPort: Int? { state.withLockedValue { $0.http } }

    func record(https port: Int?) { update { $0.https = port } }
    func record(http port: Int?) { update { $0.http = port } }

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
