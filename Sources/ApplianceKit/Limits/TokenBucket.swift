import Foundation

/// The outcome of asking a rate limit for one request.
public enum RateDecision: Sendable, Equatable {
    /// Within the limit; one token was taken.
    case allowed
    /// Over the limit; a token will be available in `retryAfterSeconds` (RFC 9110 §10.2.3
    /// Retry-After is whole seconds, so this is rounded up and at least 1).
    case limited(retryAfterSeconds: Int)
}

/// A token bucket: up to `capacity` requests at once, refilled continuously so that `capacity`
/// tokens come back over `interval`. A plain value with no clock of its own — callers pass
/// "now" (from a ``PKICore/PKIClock``) so tests control time.
public struct TokenBucket: Sendable, Equatable {
    /// Most tokens the bucket holds (the allowed burst).
    public let capacity: Double
    /// Tokens added per second.
    public let refillPerSecond: Double
    /// Tokens available at ``lastUpdate``.
    public private(set) var tokens: Double
    /// When ``tokens`` was last brought up to date.
    public private(set) var lastUpdate: Date

    /// A full bucket of `capacity` tokens that refills completely over `interval` seconds.
    /// - Precondition: `capacity` ≥ 1 and `interval` > 0 (checked by configuration validation).
    public init(capacity: Int, interval: TimeInterval, now: Date) {
        self.capacity = Double(max(1, capacity))
        self.refillPerSecond = self.capacity / max(interval, 0.001)
        self.tokens = self.capacity
        self.lastUpdate = now
    }

    /// Takes one token if one is available at `now`; otherwise says how long until one is.
    public mutating func take(now: Date) -> RateDecision {
        refill(now: now)
        if tokens >= 1 {
            tokens -= 1
            return .allowed
        }
        let wait = (1 - tokens) / refillPerSecond
        return .limited(retryAfterSeconds: max(1, Int(wait.rounded(.up))))
    }

    /// Whether the bucket would be full at `now` — such a bucket carries no state a fresh one
    /// would not, so a limiter may forget it.
    public func isFull(at now: Date) -> Bool {
        var copy = self
        copy.refill(now: now)
        return copy.tokens >= capacity
    }

    private mutating func refill(now: Date) {
        let elapsed = now.timeIntervalSince(lastUpdate)
        // A clock stepped backwards adds nothing (and must not remove tokens either); time is
        // counted again from the new "now".
        if elapsed > 0 {
            tokens = min(capacity, tokens + elapsed * refillPerSecond)
        }
        lastUpdate = now
    }
}
