import ApplianceKit
import Foundation
import PKICore
import Testing

@Suite("Token buckets and the bounded rate limiter, on an injected clock")
struct TokenBucketTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("a bucket allows its burst, then says how many seconds until the next token")
    func burstThenRetryAfter() {
        var bucket = TokenBucket(capacity: 3, interval: 60, now: start)
        for _ in 0..<3 { #expect(bucket.take(now: start) == .allowed) }
        #expect(bucket.take(now: start) == .limited(retryAfterSeconds: 20))
        #expect(bucket.take(now: start + 5) == .limited(retryAfterSeconds: 15))
        // 19.5 s: still short of a token; Retry-After rounds up and never says 0.
        #expect(bucket.take(now: start + 19.5) == .limited(retryAfterSeconds: 1))
        #expect(bucket.take(now: start + 20) == .allowed)
        #expect(bucket.take(now: start + 20) == .limited(retryAfterSeconds: 20))
    }

    @Test("refill stops at the capacity and a clock stepped backwards adds no tokens")
    func refillBounds() {
        var bucket = TokenBucket(capacity: 2, interval: 3600, now: start)
        #expect(bucket.take(now: start) == .allowed)
        #expect(bucket.take(now: start) == .allowed)
        // A day later the bucket holds 2, not 48.
        #expect(bucket.take(now: start + 86400) == .allowed)
        #expect(bucket.take(now: start + 86400) == .allowed)
        #expect(bucket.take(now: start + 86400) == .limited(retryAfterSeconds: 1800))
        #expect(bucket.take(now: start - 3600) == .limited(retryAfterSeconds: 1800))
        // Time counts again from the stepped-back "now": half refilled after 30 min, full after 60.
        #expect(!bucket.isFull(at: start - 1800))
        #expect(bucket.isFull(at: start))
    }

    @Test("the limiter keeps one bucket per key: one key over its limit does not affect another")
    func perKey() {
        let clock = FixedClock(start)
        let limiter = RateLimiter(capacity: 2, interval: 60, clock: clock)
        #expect(limiter.acquire("10.0.0.1") == .allowed)
        #expect(limiter.acquire("10.0.0.1") == .allowed)
        #expect(limiter.acquire("10.0.0.1") == .limited(retryAfterSeconds: 30))
        #expect(limiter.acquire("10.0.0.2") == .allowed)
        clock.advance(by: 30)
        #expect(limiter.acquire("10.0.0.1") == .allowed)
    }

    @Test("capacity 0 turns the limit off")
    func disabled() {
        let limiter = RateLimiter(capacity: 0, interval: 60, clock: FixedClock(start))
        for _ in 0..<1000 { #expect(limiter.acquire("x") == .allowed) }
        #expect(limiter.trackedKeys == 0)
    }

    @Test("memory is bounded: idle buckets are forgotten and the table never exceeds maxKeys")
    func bounded() {
        let clock = FixedClock(start)
        let limiter = RateLimiter(capacity: 1, interval: 60, maxKeys: 100, clock: clock)
        for index in 0..<100 { _ = limiter.acquire("idle-\(index)") }
        #expect(limiter.trackedKeys == 100)
        // A minute later every bucket has refilled; a new key sweeps them all away.
        clock.advance(by: 60)
        #expect(limiter.acquire("new") == .allowed)
        #expect(limiter.trackedKeys == 1)
        // A flood of distinct active keys stays within the cap.
        for index in 0..<1_000 {
            _ = limiter.acquire("flood-\(index)")
            clock.advance(by: 0.001)
        }
        #expect(limiter.trackedKeys <= 100)
        // The most recent keys are still limited (their buckets were kept).
        #expect(limiter.acquire("flood-999") == .limited(retryAfterSeconds: 60))
    }
}
