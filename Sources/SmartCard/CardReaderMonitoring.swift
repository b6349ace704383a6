import Dispatch

/// The two PC/SC questions a ceremony asks: which readers exist, and "tell me when this reader's
/// state changes". ``PCSCContext`` answers them through pcscd; unit tests use a fake.
public protocol CardReaderMonitoring: Sendable {
    /// All readers PC/SC knows, with card presence and ATR.
    func readers() throws -> [CardReaderState]

    /// Blocks until `reader`'s state differs from `known` (nil: return the current state at once)
    /// or `timeout` passes; returns the new state, or nil on timeout.
    func waitForStateChange(reader: String, known: CardReaderState?, timeout: Duration) throws -> CardReaderState?
}

extension CardReaderMonitoring {
    /// Waits until a card is in `reader` ("insert the officer's card"), returning its state.
    /// Throws `timedOut` when no card arrives within `timeout`.
    public func waitForCard(reader: String, timeout: Duration) throws -> CardReaderState {
        try waitUntil(reader: reader, timeout: timeout, description: "a card to be inserted") { $0.cardPresent }
    }

    /// Waits until `reader` is empty ("remove the card"). Throws `timedOut` otherwise.
    public func waitForRemoval(reader: String, timeout: Duration) throws {
        _ = try waitUntil(reader: reader, timeout: timeout, description: "the card to be removed") { !$0.cardPresent }
    }

    /// Async form of ``waitForCard(reader:timeout:)``; the blocking wait runs on a dispatch queue,
    /// never on Swift's cooperative thread pool.
    public func waitForCard(reader: String, timeout: Duration) async throws -> CardReaderState {
        try await offPool { try self.waitForCard(reader: reader, timeout: timeout) }
    }

    /// Async form of ``waitForRemoval(reader:timeout:)``.
    public func waitForRemoval(reader: String, timeout: Duration) async throws {
        try await offPool { try self.waitForRemoval(reader: reader, timeout: timeout) }
    }

    private func offPool<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    private func waitUntil(
        reader: String, timeout: Duration, description: String, _ done: (CardReaderState) -> Bool
    ) throws -> CardReaderState {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        guard var state = try waitForStateChange(reader: reader, known: nil, timeout: .zero) else {
            throw SmartCardError(.readerNotFound, "reader \"\(reader)\" did not report its state")
        }
        // Bounded: every iteration either returns, throws, or consumes part of the timeout.
        while !done(state) {
            let remaining = deadline - clock.now
            guard remaining > .zero,
                let next = try waitForStateChange(reader: reader, known: state, timeout: remaining)
            else {
                throw SmartCardError(.timedOut, "timed out after \(timeout) waiting for \(description) in \"\(reader)\"")
            }
            state = next
        }
        return state
    }
}
