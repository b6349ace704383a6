import Foundation
import NIOConcurrencyHelpers
import PKICore

/// Token buckets by key (a source address, an agent identity) with bounded memory: buckets that
/// have refilled completely are forgotten, and the table never holds more than `maxKeys`
/// entries — when it is full of active buckets the least recently used ones are dropped, so a
/// flood of distinct keys costs bounded memory (those keys simply start over with a full bucket).
public final class RateLimiter: Sendable {
    /// Requests allowed at once per key; 0 turns the limit off.
    public let capacity: Int
    /// Seconds over which `capacity` tokens refill.
    public let interval: TimeInterval
    /// Most keys tracked at a time.
    public let maxKeys: Int
    private let clock: any PKIClock
    private let buckets = NIOLockedValueBox<[String: TokenBucket]>([:])

    public init(capacity: Int, interval: TimeInterval, maxKeys: Int = 10_000, clock: any PKIClock = SystemClock()) {
        self.capacity = capacity
        self.interval = interval
        self.maxKeys = max(1, maxKeys)
        self.clock = clock
    }

    /// Takes one token from `key`'s bucket.
    public func acquire(_ key: String) -> RateDecision {
        guard capacity > 0 else { return .allowed }
        let now = clock.now()
        return buckets.withLockedValue { table in
            if table[key] == nil, table.count >= maxKeys {
                Self.evict(&table, now: now, target: maxKeys - max(1, maxKeys / 10))
            }
            var bucket = table[key] ?? TokenBucket(capacity: capacity, interval: interval, now: now)
            let decision = bucket.take(now: now)
            table[key] = bucket
            return decision
        }
    }

    /// Number of keys currently tracked (for tests and metrics).
    public var trackedKeys: Int { buckets.withLockedValue { $0.count } }

    /// Drops full (idle) buckets; if that is not enough, the least recently used down to `target`.
    private static func evict(_ table: inout [String: TokenBucket], now: Date, target: Int) {
        table = table.filter { !$0.value.isFull(at: now) }
        guard table.count > target else { return }
        let oldest = table.sorted { $0.value.lastUpdate < $1.value.lastUpdate }.prefix(table.count - target)
        for (key, _) in oldest { table[key] = nil }
    }
}
