import Foundation
import NIOConcurrencyHelpers
import PKICore

/// Counts of events over a sliding window of whole hours (24 by default), by key — the web
/// console's "last 24 h" figures (docs/console.md#pages). Each key keeps one count per hour of the
/// window; an hour older than the window no longer adds to ``totals()``. Time comes from the
/// injected ``PKIClock`` (no wall-clock reads); thread-safe. Memory is bounded: one ring of
/// `hours` integers per key, and the keys are fixed reason labels.
public final class RecentCounts: Sendable {
    public let hours: Int
    private let clock: any PKIClock

    /// A key's ring: `counts[hour % hours]` counts the events of absolute hour `hour` when
    /// `stamps[hour % hours] == hour`; another stamp means the slot is stale.
    struct Ring: Sendable {
        var counts: [Int]
        var stamps: [Int]
    }

    private let rings = NIOLockedValueBox<[String: Ring]>([:])

    public init(clock: any PKIClock, hours: Int = 24) {
        precondition(hours > 0, "a window needs at least one hour")
        self.clock = clock
        self.hours = hours
    }

    /// The absolute hour (since the reference date) of the clock's current instant.
    private func currentHour() -> Int {
        Int((clock.now().timeIntervalSinceReferenceDate / 3600).rounded(.down))
    }

    /// Counts one event (or `amount`) under `key` at the clock's current hour.
    public func record(_ key: String, amount: Int = 1) {
        let hour = currentHour()
        let slot = ((hour % hours) + hours) % hours
        rings.withLockedValue { rings in
            var ring = rings[key] ?? Ring(counts: [Int](repeating: 0, count: hours), stamps: [Int](repeating: Int.min, count: hours))
            if ring.stamps[slot] != hour {
                ring.stamps[slot] = hour
                ring.counts[slot] = 0
            }
            ring.counts[slot] += amount
            rings[key] = ring
        }
    }

    /// Every key's total over the window ending at the clock's current hour (this hour and the
    /// `hours - 1` before it); keys whose total is zero are left out.
    public func totals() -> [String: Int] {
        let hour = currentHour()
        let oldest = hour - hours + 1
        return rings.withLockedValue { rings in
            var totals: [String: Int] = [:]
            for (key, ring) in rings {
                var sum = 0
                for index in 0..<hours where (oldest...hour).contains(ring.stamps[index]) { sum += ring.counts[index] }
                if sum > 0 { totals[key] = sum }
            }
            return totals
        }
    }

    /// One key's total over the window (0 when it has none).
    public func total(_ key: String) -> Int { totals()[key] ?? 0 }
}
