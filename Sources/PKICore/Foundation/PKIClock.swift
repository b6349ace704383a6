import Foundation

/// The source of "now" for everything in the core that depends on time (validity periods, CRL
/// thisUpdate/nextUpdate, OCSP producedAt, renewal windows). Injected so tests can fix it.
public protocol PKIClock: Sendable {
    /// The current instant.
    func now() -> Date
}

/// The system's wall clock.
public struct SystemClock: PKIClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that always answers the same instant, or one that a test moves explicitly.
public final class FixedClock: PKIClock, @unchecked Sendable {
    private let lock = NSLock()
    private var instant: Date

    public init(_ instant: Date) { self.instant = instant }

    public func now() -> Date { lock.withLock { instant } }

    /// Moves the clock by `interval` seconds (negative moves it back, as a clock step would).
    public func advance(by interval: TimeInterval) { lock.withLock { instant += interval } }

    /// Sets the clock to `instant`.
    public func set(_ instant: Date) { lock.withLock { self.instant = instant } }
}
