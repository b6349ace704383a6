import ApplianceKit
import Foundation
import PKICore
import Testing

/// The console's "last 24 h" figures (docs/console.md#pages): hourly buckets on the injected
/// clock, fed where the Prometheus counters are incremented.
@Suite("Recent counts (24 h window)")
struct RecentCountsTests {
    @Test("counts stay in the window for 24 hours and roll off hour by hour after that, on the injected clock")
    func rollsOffAfter24Hours() {
        // 10:30 on some day: the first events fall in the 10:00 hour.
        let clock = FixedClock(Date(timeIntervalSinceReferenceDate: 800_000 * 3600 + 1800))
        let counts = RecentCounts(clock: clock)
        counts.record("revoked")
        counts.record("revoked")
        counts.record("expired")
        clock.advance(by: 3600)  // 11:30: one more in the next hour
        counts.record("revoked")
        #expect(counts.totals() == ["revoked": 3, "expired": 1])

        // 23 h after the first hour started (+ the 30 min): all four still inside the window.
        clock.advance(by: 22 * 3600)
        #expect(counts.totals() == ["revoked": 3, "expired": 1])
        // The first hour is now 24 hours old: its three events leave, the 11:00 one stays.
        clock.advance(by: 3600)
        #expect(counts.totals() == ["revoked": 1])
        #expect(counts.total("expired") == 0)
        // A new event reuses the ring slot of an old hour without adding the old count back.
        counts.record("expired")
        #expect(counts.totals() == ["revoked": 1, "expired": 1])
        clock.advance(by: 3600)
        #expect(counts.totals() == ["expired": 1])
        // Long idle: everything gone.
        clock.advance(by: 30 * 86_400)
        #expect(counts.totals().isEmpty)
    }

    @Test("ApplianceMetrics counts a refusal once in the Prometheus counter and once in the 24 h window, and renewal outcomes in theirs")
    func metricsFeedTheWindow() async {
        let clock = FixedClock(Date(timeIntervalSinceReferenceDate: 700_000_000))
        let metrics = ApplianceMetrics(clock: clock)
        metrics.validationFailure(reason: "revoked")
        metrics.renewalRefused(reason: "not_renewable")
        #expect(metrics.registry.value("rootkeeper_certificate_validation_failures_total", labels: ["reason": "revoked"]) == 1)
        #expect(metrics.registry.value("rootkeeper_renewals_refused_total", labels: ["reason": "not_renewable"]) == 1)
        #expect(metrics.recentValidationFailures.totals() == ["revoked": 1])
        #expect(metrics.recentRenewals.totals() == ["refused": 1])
        clock.advance(by: 25 * 3600)
        // The window forgets; the since-start counters do not.
        #expect(metrics.recentValidationFailures.totals().isEmpty && metrics.recentRenewals.totals().isEmpty)
        #expect(metrics.registry.value("rootkeeper_certificate_validation_failures_total", labels: ["reason": "revoked"]) == 1)
    }
}
