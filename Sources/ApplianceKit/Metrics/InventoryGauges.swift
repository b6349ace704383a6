import Foundation
import Logging
import PKICore
import Registration
import ServiceLifecycle

/// Keeps the inventory gauges of docs/metrics.md#inventory-gauges current: `rootkeeper_certificates_active
/// {certificate_type}`, `rootkeeper_certificates_expiring_soon{days_until_expiry="30|7|1"}` and
/// `rootkeeper_registrations_pending` — what the expiry alerts and an operator's dashboard read.
///
/// They are recomputed from the store every `interval` (aggregate queries, cheap at 100 000
/// certificates) rather than tracked incrementally, so they cannot drift from the database, also
/// across restarts and after certificates expire without any event.
public struct InventoryGauges: Service {
    /// The `days_until_expiry` label values (docs/metrics.md#inventory-gauges; alerts at 30, 7 and 1 days).
    public static let horizons = [30, 7, 1]

    let store: any CertificateStore & RegistrationStore
    let metrics: ApplianceMetrics
    let clock: any PKIClock
    let logger: Logger
    let interval: Duration

    public init(
        store: any CertificateStore & RegistrationStore, metrics: ApplianceMetrics, clock: any PKIClock,
        logger: Logger, interval: Duration = .seconds(30)
    ) {
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
        self.interval = interval
    }

    /// Recomputes every gauge once.
    public func refresh() async throws {
        let now = clock.now()
        let active = try await store.activeCounts(at: now)
        for type in CertificateRecord.CertificateType.allCases {
            metrics.registry.set(
                "rootkeeper_certificates_active", labels: ["certificate_type": type.rawValue],
                to: Double(active[type] ?? 0))
        }
        let soon = try await store.expiring(withinDays: Self.horizons.max() ?? 30, now: now)
        for days in Self.horizons {
            let limit = now.addingTimeInterval(Double(days) * 86_400)
            metrics.registry.set(
                "rootkeeper_certificates_expiring_soon", labels: ["days_until_expiry": String(days)],
                to: Double(soon.filter { $0.notAfter <= limit }.count))
        }
        let pending = try await store.registrations(status: .pending)
        metrics.registry.set("rootkeeper_registrations_pending", to: Double(pending.count))
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await refresh()
                } catch {
                    // Gauges only: the next round retries; the store error is what to look at.
                    logger.error("cannot refresh the inventory gauges", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)  // Cancellation ends the loop above.
            }
        }
    }
}
