import CAStore
import Foundation
import Logging
import PKICore
import Registration
import ServiceLifecycle
import X509

/// Publishes the CRLs served at `/crl/intermediate.crl` and `/crl/root.crl` (docs/lifecycle.md#intermediate-crl).
///
/// - The intermediate's CRL is a full CRL (RFC 5280 §5) signed with the intermediate's key, its
///   cRLNumber allocated from the store before signing (persisted, strictly increasing across
///   restarts and clock steps, §5.2.3), nextUpdate ``Configuration/validity`` after thisUpdate
///   (§5.1.2.5), entries of expired certificates pruned (§3.3).
/// - It is regenerated on start (so a crash between a store update and the CRL write is always
///   repaired by a fresh CRL with a higher number), on schedule before half its validity has
///   passed, and on demand after a revocation (``revocationOccurred()``), coalesced: at most one
///   generation in flight and one pending, however many revocations arrive. After a revocation
///   only the revocations numbered since the last CRL are read and appended to the entries kept
///   in memory (``currentEntries(at:)``); start, schedule, `crl generate` and failures rebuild in full.
/// - Files are replaced atomically (write, fsync, rename, fsync the directory); the version being
///   replaced is kept as `history/intermediate-<number>.crl`.
/// - When the CRL cannot be written, the last good bytes stay served from memory, ``health``
///   turns degraded with the reason, `rootkeeper_crl_publish_failures_total` counts it, the log
///   says why, and the run loop retries after ``Configuration/retryInterval``.
///
/// The root CRL is produced by the offline ceremony and installed with ``installRootCRL(from:)``.
public actor CRLPublisher: RevocationPublisher, Service {
    /// Timing and paging of CRL generation.
    public struct Configuration: Sendable {
        /// nextUpdate − thisUpdate. Default 24 h (docs/lifecycle.md#intermediate-crl).
        public var validity: TimeInterval
        /// Regenerate once this fraction of the validity has passed (default 0.5: before half-life).
        public var refreshFraction: Double
        /// Wait before retrying a failed publication.
        public var retryInterval: Duration
        /// Longest sleep of the run loop, so a stepped clock is noticed.
        public var pollInterval: Duration
        /// Revocations read from the store per page.
        public var pageSize: Int
        /// On a shared store: how often a node asks who publishes (the leader keeps its lock, a
        /// follower picks up newer CRLs and takes over from a dead leader within about this long).
        public var leadershipInterval: Duration

        public init(
            validity: TimeInterval = 86_400, refreshFraction: Double = 0.5, retryInterval: Duration = .seconds(30),
            pollInterval: Duration = .seconds(60), pageSize: Int = 10_000, leadershipInterval: Duration = .seconds(1)
        ) throws {
            guard validity >= 60, validity <= 31 * 86_400 else {
                throw ApplianceError.configuration("crl.validity", "must be between 60 seconds and 31 days")
            }
            guard refreshFraction > 0, refreshFraction < 1 else {
                throw ApplianceError.configuration("crl.refreshFraction", "must be between 0 and 1 (exclusive)")
            }
            guard pageSize >= 1 else { throw ApplianceError.configuration("crl.pageSize", "must be at least 1") }
            self.validity = validity
            self.refreshFraction = refreshFraction
            self.retryInterval = retryInterval
            self.pollInterval = pollInterval
            self.pageSize = pageSize
            self.leadershipInterval = leadershipInterval
        }
    }

    /// A CRL being served: its bytes and what was read from them.
    struct ServedCRL: Sendable {
        let der: [UInt8]
        let number: CRLNumber
        let thisUpdate: Date
        let nextUpdate: Date
        let entries: Int
    }

    /// Which intermediate this publisher serves (docs/lifecycle.md#intermediate-renewal: a CRL per issuer during a renewal overlap).
    public enum Role: Sendable, Equatable {
        /// The issuing intermediate: `crl/intermediate.crl`, metrics label `issuer="<ski>"`.
        case current
        /// An intermediate replaced by a renewal: `crl/issuer-<ski>.crl`, label `issuer="<ski>"`.
        case retiring
    }

    let store: any RevocationStore & CRLStateStore
    let expiry: any CertificateExpiryLookup
    let signer: CRLSigner
    let issuerSKI: String
    let rootCertificate: Certificate?
    let state: StateDirectory
    let configuration: Configuration
    let clock: any PKIClock
    let metrics: ApplianceMetrics
    let logger: Logger
    /// On a store shared by several nodes: who publishes (docs/architecture.md#crl-leadership); nil on a single node.
    let leadership: (any CRLLeadership)?
    /// Whether this node held the publisher lock at the last check (nil: not asked yet).
    var leading: Bool?
    /// Why the last check of the shared store failed, while it fails (logged once).
    var sharedProblem: String?

    /// `intermediate` or `issuer-<ski>` (``CRLFiles``).
    let fileName: String
    /// The `issuer` label of this publisher's intermediate CRL metrics.
    let metricLabel: String
    public let role: Role
    /// Set by ``retire()``: the last CRL stays on disk and in memory but is never regenerated.
    var retired = false

    var served: [CRLIssuer: ServedCRL] = [:]
    var failure: String?
    /// Revocations of the current entries listed without their stored reason, which a full CRL
    /// cannot carry (``publishableEntry(_:omitted:)``), by serial.
    var omittedReasons: [String: RevocationReason] = [:]
    var generation: Task<Void, Never>?
    var rerun = false
    var waiters: [CheckedContinuation<Void, Never>] = []
    /// When each revocation not yet covered by a published CRL was reported (for the latency histogram).
    var pendingRevocations: [ContinuousClock.Instant] = []
    var loaded = false
    /// The entries of the last CRL, for incremental generation after a revocation (``currentEntries(at:)``).
    var entryCache: CRLEntryCache?
    /// The next generation walks the whole store (start, schedule, `crl generate`, after a failure).
    var fullRebuildRequested = true
    /// Identity of the `crl/root.crl` file last read, to pick up `appliance crl install-root`.
    var rootFileStamp: CRLFileStamp?

    /// - Parameters:
    ///   - issuerCertificate / privateKey: the issuing intermediate and its key (file or HSM).
    ///   - rootCertificate: the pinned root, to verify installed root CRLs; nil disables installs.
    ///   - expiry: when revoked certificates expire, for pruning (the store's batched lookup, or
    ///     `PerSerialExpiryLookup` over a store without one).
    ///   - leadership: the shared store's publisher election when several nodes share it; nil
    ///     on a single node, which always publishes.
    public init(
        issuerCertificate: Certificate, privateKey: Certificate.PrivateKey, rootCertificate: Certificate?,
        store: any CRLPublisherStore, expiry: any CertificateExpiryLookup,
        stateDirectory: StateDirectory, configuration: Configuration, clock: any PKIClock,
        metrics: ApplianceMetrics, logger: Logger, role: Role = .current, leadership: (any CRLLeadership)? = nil
    ) throws {
        self.leadership = leadership
        self.signer = try CRLSigner(issuerCertificate: issuerCertificate, privateKey: privateKey)
        guard let ski = try issuerCertificate.extensions.subjectKeyIdentifier else {
            throw ApplianceError.configuration("ca.intermediate", "the intermediate certificate has no subjectKeyIdentifier")
        }
        self.issuerSKI = PKICore.Hex.encode(ski.keyIdentifier)
        self.role = role
        self.fileName = role == .current ? CRLIssuer.intermediate.rawValue : CRLFiles.retiringName(issuerSKI)
        // Every intermediate's series carries its own SKI, whatever its role: during a renewal
        // overlap the current and the retiring publisher never write the same series, and an
        // issuer keeps its label when it stops being the current one.
        self.metricLabel = issuerSKI
        self.store = store
        self.expiry = expiry
        self.rootCertificate = rootCertificate
        self.state = stateDirectory
        self.configuration = configuration
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        metrics.registry.declare(
            "rootkeeper_crl_publish_failures_total", kind: .counter, help: "CRL publications that failed, by issuer.")
        metrics.registry.declare(
            "rootkeeper_crl_publication_failing", kind: .gauge,
            help: "1 while the last CRL publication of the issuer failed (its previous CRL stays served), 0 after a success.")
        if leadership != nil {
            metrics.registry.declare(
                "rootkeeper_crl_leader", kind: .gauge,
                help: "1 while this node holds the issuer's CRL publisher lock on the shared store, 0 while another node publishes.")
        }
    }

    // MARK: RevocationPublisher

    public func currentCRL(issuer: CRLIssuer) async throws -> [UInt8]? {
        loadInstalledIfNeeded()
        if issuer == .root { refreshRootCRLFromDisk() }
        return served[issuer]?.der
    }

    /// Degraded with the reason of the last failed publication; otherwise needing attention
    /// when entries were listed without their stored reason; otherwise healthy.
    public var health: PublisherHealth {
        if let failure { return .degraded(reason: failure) }
        guard omittedReasons.isEmpty else {
            let serials = omittedReasons.keys.sorted()
            let shown = serials.prefix(5).map { "\($0) (\(omittedReasons[$0]?.name ?? "?"))" }.joined(separator: ", ")
            return .attention(
                reason:
                    "issuer \(issuerSKI): \(serials.count) revocation(s) listed on the CRL without their stored reason, which a full CRL cannot carry: \(shown)\(serials.count > 5 ? ", …" : "")"
            )
        }
        return .healthy
    }

    /// The lower-case hex SKI of the intermediate whose CRL this publisher signs.
    public nonisolated var issuerID: String { issuerSKI }

    /// Stops regenerating this issuer's CRL (its last certificate has expired); the last CRL
    /// stays on disk (`crl/issuer-<ski>.crl` and history) for the record.
    public func retire() {
        retired = true
        failure = nil
        metrics.registry.set("rootkeeper_crl_publication_failing", labels: ["issuer": metricLabel], to: 0)
    }

    public var isRetired: Bool { retired }

    /// Whether this node signs the issuer's CRLs: always on a single node; on a shared store,
    /// while it holds the publisher lock (docs/architecture.md#crl-leadership).
    public var publishesHere: Bool { leadership == nil || leading == true }

    /// The number of the CRL being served for `issuer`.
    public func servedCRLNumber(_ issuer: CRLIssuer) -> CRLNumber? { served[issuer]?.number }

    // MARK: Triggers

    /// A certificate of this issuer was revoked (the store already says so): schedules a new CRL.
    /// Returns immediately; bursts coalesce into at most one generation in flight plus one pending.
    public func revocationOccurred() {
        pendingRevocations.append(.now)
        trigger()
    }

    /// The signing key is usable again (its token came back): a publication that failed meanwhile
    /// is retried now instead of after ``Configuration/retryInterval``. Returns immediately.
    public func signingResumed() {
        guard failure != nil else { return }
        fullRebuildRequested = true
        trigger()
    }

    /// Generates and publishes a CRL now (`appliance crl generate`) and waits for it.
    /// Throws the reason when publication failed (the previous CRL stays served).
    public func publishNow() async throws {
        fullRebuildRequested = true
        trigger()
        await waitUntilIdle()
        if let failure { throw ApplianceError.unavailable(failure) }
    }

    /// Waits until no generation is in flight or pending.
    public func waitUntilIdle() async {
        guard generation != nil else { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func trigger() {
        if generation != nil {
            rerun = true
            return
        }
        generation = Task { await self.drain() }
    }

    private func drain() async {
        repeat {
            rerun = false
            let covered = pendingRevocations
            pendingRevocations = []
            do {
                try await publishIntermediate()
                let now = ContinuousClock.now
                for reported in covered {
                    metrics.registry.observe("rootkeeper_revocation_publish_latency_seconds", (now - reported).seconds)
                }
            } catch {
                // Keep the revocations pending: the retry must cover them.
                pendingRevocations = covered + pendingRevocations
                recordFailure(error)
            }
        } while rerun
        generation = nil
        let resumed = waiters
        waiters = []
        resumed.forEach { $0.resume() }
    }

    func recordFailure(_ error: any Error) {
        let servedNumber = served[.intermediate].map { "CRL \($0.number) stays served" } ?? "no CRL is served yet"
        let reason = "intermediate CRL publication failed (\(servedNumber)): \(error)"
        // The retry rebuilds from the store: nothing half-applied survives a failure.
        entryCache = nil
        fullRebuildRequested = true
        failure = reason
        metrics.registry.increment("rootkeeper_crl_publish_failures_total", labels: ["issuer": metricLabel])
        metrics.registry.set("rootkeeper_crl_publication_failing", labels: ["issuer": metricLabel], to: 1)
        logger.error("CRL publication failed", metadata: ["reason": "\(reason)"])
    }

    // MARK: Service

    /// Publishes a fresh CRL at start, then regenerates on schedule and retries failures until
    /// graceful shutdown.
    public func run() async throws {
        loadInstalledIfNeeded()
        trigger()
        await waitUntilIdle()
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    let wake = await self.nextWake()
                    try await Task.sleep(for: wake)
                    await self.tick()
                }
            }
        } catch is CancellationError {
            // Graceful shutdown.
        }
        await waitUntilIdle()
    }

    /// How long to sleep before the next check.
    func nextWake() -> Duration {
        var wake = configuration.pollInterval
        if leadership != nil, !retired { wake = min(wake, configuration.leadershipInterval) }
        if failure != nil { return min(configuration.retryInterval, wake) }
        return wake
    }

    /// Refreshes the age gauge and regenerates when due or after a failure.
    func tick() async {
        refreshRootCRLFromDisk()
        updateAgeGauges()
        if let leadership, !retired {
            await tickShared(leadership)
            return
        }
        if failure != nil || isDue() {
            // The scheduled refresh re-reads the store in full, so the in-memory entries never
            // drift from the database for longer than refreshFraction × validity.
            fullRebuildRequested = true
            trigger()
        }
    }

    func isDue() -> Bool {
        guard !retired else { return false }
        guard let current = served[.intermediate] else { return true }
        let now = clock.now()
        let refreshAt = current.thisUpdate.addingTimeInterval(configuration.validity * configuration.refreshFraction)
        return now >= refreshAt
    }

    func updateAgeGauges() {
        let now = clock.now()
        for (issuer, crl) in served where !(retired && issuer == .intermediate) {
            metrics.registry.set(
                "rootkeeper_crl_age_seconds", labels: ["issuer": label(issuer)],
                to: max(0, now.timeIntervalSince(crl.thisUpdate)))
            // The root CRL is issued at ceremonies months apart: its age says nothing, the time
            // left before relying parties reject it does (alert RootkeeperRootCRLExpiring).
            metrics.registry.set(
                "rootkeeper_crl_next_update_seconds", labels: ["issuer": label(issuer)],
                to: crl.nextUpdate.timeIntervalSince(now))
        }
    }

    func label(_ issuer: CRLIssuer) -> String { issuer == .intermediate ? metricLabel : issuer.rawValue }

    func updateGauges(_ issuer: CRLIssuer, _ crl: ServedCRL) {
        let labels = ["issuer": label(issuer)]
        metrics.registry.set("rootkeeper_crl_entries", labels: labels, to: Double(crl.entries))
        metrics.registry.set("rootkeeper_crl_size_bytes", labels: labels, to: Double(crl.der.count))
        if issuer == .intermediate {
            metrics.registry.set("rootkeeper_crl_entries_reason_omitted", labels: labels, to: Double(omittedReasons.count))
        }
        updateAgeGauges()
    }
}
