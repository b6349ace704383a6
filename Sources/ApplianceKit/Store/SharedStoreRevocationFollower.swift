import CAStore
import Foundation
import Logging
import Registration
import ServiceLifecycle

/// On a shared store (several nodes, one PostgreSQL database), makes revocations committed by
/// another node take effect here: it follows each issuer's commit-ordered revocation sequence
/// (``RevocationStore/revocations(issuerSKI:afterSequence:limit:)``) and hands every new serial to
/// the ``RevocationCoordinator`` — which drops this node's cached OCSP answers and mTLS status,
/// schedules this node's CRL and closes this node's connections of that certificate
/// (docs/lifecycle.md#revocation-takes-effect).
///
/// Polling by sequence rather than trusting a notification: a reconnect, a restart or a lost
/// message delays nothing beyond one interval, because the cursor is a number in the database.
/// Serials revoked by this node come back too; the coordinator's work is idempotent.
public struct SharedStoreRevocationFollower: Service {
    let store: any RevocationStore & StoreWritability
    let issuers: [String]
    let coordinator: RevocationCoordinator
    let interval: Duration
    let metrics: ApplianceMetrics?
    let logger: Logger

    public init(
        store: any RevocationStore & StoreWritability, issuers: [String], coordinator: RevocationCoordinator,
        interval: Duration = .milliseconds(250), metrics: ApplianceMetrics? = nil, logger: Logger
    ) {
        self.metrics = metrics
        metrics?.registry.declare(
            "rootkeeper_store_writable", kind: .gauge,
            help: "1 when the shared store has a writable PostgreSQL host, 0 when none (issuance answers 503).")
        self.store = store
        self.issuers = issuers
        self.coordinator = coordinator
        self.interval = interval
        self.logger = logger
    }

    /// Follows until graceful shutdown, which cancels the store call or the sleep under way (a
    /// lease waits up to `connectTimeout` while the database is down; shutdown does not).
    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.follow() }
    }

    private func follow() async {
        var cursors: [String: Int64] = [:]
        var failing = false
        while !Task.isCancelled {
            do {
                for issuer in issuers {
                    guard let cursor = cursors[issuer] else {
                        // Start from now: what was revoked before this process started is in the
                        // store already and read by OCSP and the CRL publisher directly.
                        cursors[issuer] = try await store.revocationSequence(issuerSKI: issuer) ?? 0
                        continue
                    }
                    let page = try await store.revocations(issuerSKI: issuer, afterSequence: cursor, limit: 1_000)
                    guard let last = page.last else { continue }
                    cursors[issuer] = last.sequence
                    await coordinator.revocationOccurred(serials: page.map(\.record.serial))
                }
                if failing {
                    logger.notice("shared store: following revocations again")
                    failing = false
                }
            } catch {
                // Cancelled by shutdown: not a store failure to report.
                if Task.isCancelled { return }
                if !failing { logger.error("shared store: cannot follow revocations of other nodes: \(error)") }
                failing = true
            }
            metrics?.registry.set("rootkeeper_store_writable", to: store.unwritableReason == nil ? 1 : 0)
            try? await Task.sleep(for: interval)
        }
    }
}
