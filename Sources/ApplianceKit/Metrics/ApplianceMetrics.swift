import PKICore
import Registration

/// The appliance's metrics (docs/metrics.md#metric-list names, prefix `rootkeeper_`), declared up front so
/// `/metrics` lists every family from the first scrape. Store-derived gauges (active,
/// expiring-soon, pending registrations, CRL age/size) are set by the services that own them.
public struct ApplianceMetrics: AuthorityEventSubscriber, Sendable {
    public let registry: MetricsRegistry
    /// Client certificate refusals of the last 24 hours by `reason`, counted at the same point as
    /// `rootkeeper_certificate_validation_failures_total` (``validationFailure(reason:)``) — the
    /// console's Overview (docs/console.md#pages).
    public let recentValidationFailures: RecentCounts
    /// Renewal outcomes of the last 24 hours: ``RenewalOutcome/succeeded`` (heard from the event
    /// stream) and ``RenewalOutcome/refused`` (``renewalRefused(reason:)``).
    public let recentRenewals: RecentCounts

    /// The keys of ``recentRenewals``.
    public enum RenewalOutcome: String, Sendable { case succeeded, refused }

    /// The series the fast paths sample on every answer, resolved once (docs/performance.md:
    /// they answer in a few microseconds, and a lookup by name and labels per sample was a
    /// large part of that).
    struct HotSeries: Sendable {
        let ocspLatency: MetricsRegistry.Handle
        let ocspFastPath: MetricsRegistry.Handle
        let ocspGood: MetricsRegistry.Handle
        let ocspRevoked: MetricsRegistry.Handle
        let ocspUnknown: MetricsRegistry.Handle
        let validationLatency: MetricsRegistry.Handle
        let agentStatusFastAnswers: MetricsRegistry.Handle
    }

    let hot: HotSeries

    static let latencyBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    /// `clock` times the 24-hour windows (the runtime passes its injected clock).
    public init(registry: MetricsRegistry = MetricsRegistry(), clock: any PKIClock = SystemClock()) {
        self.registry = registry
        self.recentValidationFailures = RecentCounts(clock: clock)
        self.recentRenewals = RecentCounts(clock: clock)
        let declarations: [(String, MetricsRegistry.Kind, String)] = [
            ("rootkeeper_certificates_issued_total", .counter, "Certificates issued, by certificate_type."),
            ("rootkeeper_certificates_renewed_total", .counter, "Certificates issued by renewal."),
            ("rootkeeper_certificates_revoked_total", .counter, "Certificates revoked, by revocation_reason."),
            ("rootkeeper_certificates_active", .gauge, "Valid, unrevoked certificates, by certificate_type."),
            ("rootkeeper_certificates_expiring_soon", .gauge, "Active certificates expiring within days_until_expiry."),
            ("rootkeeper_registrations_pending", .gauge, "Enrolments waiting for administrator approval."),
            ("rootkeeper_certificate_validation_failures_total", .counter, "Client certificate refusals, by reason."),
            ("rootkeeper_renewals_refused_total", .counter, "Renewals (simplereenroll) refused, by reason."),
            (
                "rootkeeper_requests_rate_limited_total", .counter,
                "EST requests answered 429, by the limit that refused them (source, agent, renewal)."
            ),
            ("rootkeeper_crl_age_seconds", .gauge, "Age of the current CRL, by issuer (intermediates by lower-case hex SKI, the root as root)."),
            (
                "rootkeeper_crl_next_update_seconds", .gauge,
                "Seconds until the current CRL's nextUpdate (negative once it has lapsed), by issuer."
            ),
            ("rootkeeper_crl_entries", .gauge, "Entries in the current CRL, by issuer."),
            (
                "rootkeeper_crl_entries_reason_omitted", .gauge,
                "Entries of the current CRL listed without their stored reason, which a full CRL cannot carry (removeFromCRL, certificateHold), by issuer."
            ),
            ("rootkeeper_crl_size_bytes", .gauge, "Size of the current CRL, by issuer."),
            ("rootkeeper_ocsp_responses_total", .counter, "OCSP responses, by status."),
            (
                "rootkeeper_ocsp_fast_path_total", .counter,
                "OCSP responses answered from the cache on the HTTP listener's event loop, without Hummingbird."
            ),
            (
                "rootkeeper_agent_status_fast_answers_total", .counter,
                "GET /api/v1/agent/status requests answered from memory on the event loop (fully validated fast path)."
            ),
            ("rootkeeper_hsm_up", .gauge, "1 when the signing key's token answers."),
        ]
        for (name, kind, help) in declarations { registry.declare(name, kind: kind, help: help) }
        for (name, help) in [
            ("rootkeeper_certificate_validation_duration_seconds", "Time to validate a client certificate."),
            ("rootkeeper_ocsp_response_duration_seconds", "Time to answer an OCSP request."),
            ("rootkeeper_revocation_publish_latency_seconds", "Time from revocation to CRL publication."),
        ] {
            registry.declare(name, kind: .histogram, help: help, buckets: Self.latencyBuckets)
        }
        let status = { (label: String) in registry.handle("rootkeeper_ocsp_responses_total", labels: ["status": label])! }
        hot = HotSeries(
            ocspLatency: registry.handle("rootkeeper_ocsp_response_duration_seconds")!,
            ocspFastPath: registry.handle("rootkeeper_ocsp_fast_path_total")!,
            ocspGood: status("good"), ocspRevoked: status("revoked"), ocspUnknown: status("unknown"),
            validationLatency: registry.handle("rootkeeper_certificate_validation_duration_seconds")!,
            agentStatusFastAnswers: registry.handle("rootkeeper_agent_status_fast_answers_total")!)
    }

    /// Counts one OCSP response by its status label (`rootkeeper_ocsp_responses_total`).
    func ocspAnswered(status label: String) {
        switch label {
        case "good": registry.increment(hot.ocspGood)
        case "revoked": registry.increment(hot.ocspRevoked)
        case "unknown": registry.increment(hot.ocspUnknown)
        default: registry.increment("rootkeeper_ocsp_responses_total", labels: ["status": label])
        }
    }

    /// Counts one answer of the OCSP fast path (`rootkeeper_ocsp_fast_path_total`).
    func ocspFastPathAnswered() {
        registry.increment(hot.ocspFastPath)
    }

    /// Counts one answer of the agent-status fast path (`rootkeeper_agent_status_fast_answers_total`).
    func agentStatusFastAnswered() {
        registry.increment(hot.agentStatusFastAnswers)
    }

    public func validationFailure(reason: String) {
        registry.increment("rootkeeper_certificate_validation_failures_total", labels: ["reason": reason])
        recentValidationFailures.record(reason)
    }

    /// Counts one refused renewal: `not_renewable` (the RA refused it: not yet due, superseded,
    /// agent revoked…), `identity_mismatch` (the CSR names another agent) or `rate_limited`.
    /// Successful renewals are counted from the event stream (``authorityEventOccurred(_:)``).
    public func renewalRefused(reason: String) {
        registry.increment("rootkeeper_renewals_refused_total", labels: ["reason": reason])
        recentRenewals.record(RenewalOutcome.refused.rawValue)
    }

    public func observeValidation(since start: ContinuousClock.Instant) {
        registry.observe(hot.validationLatency, (ContinuousClock.now - start).seconds)
    }

    public func observeOCSP(since start: ContinuousClock.Instant) {
        registry.observe(hot.ocspLatency, (ContinuousClock.now - start).seconds)
    }

    /// Counts the revocations that took effect now (not re-revocations), by RFC 5280 reason.
    func revoked(_ results: [RevocationResult]) {
        for result in results where result.newlyRevoked {
            registry.increment(
                "rootkeeper_certificates_revoked_total",
                labels: ["revocation_reason": result.record.reason?.name ?? "unspecified"])
        }
    }

    /// The metrics subscriber of the RA's event stream (docs/architecture.md#event-stream):
    /// issuance and revocation are counted here and nowhere else — not in the HTTP layer, not by
    /// the paths that issue or revoke — so each is counted once, whichever path caused it, and a
    /// repeated request answered with the stored certificate (RFC 7030 §4.2.3) not at all.
    public func authorityEventOccurred(_ event: AuthorityEvent) async {
        switch event {
        case .issued(let record, let renewal): issued(type: record.type.rawValue, renewal: renewal)
        case .revoked(let results, _): revoked(results)
        case .registrationDecided: break
        }
    }

    /// Counts one signed certificate (from ``authorityEventOccurred(_:)``).
    func issued(type: String, renewal: Bool) {
        registry.increment("rootkeeper_certificates_issued_total", labels: ["certificate_type": type])
        if renewal {
            registry.increment("rootkeeper_certificates_renewed_total")
            recentRenewals.record(RenewalOutcome.succeeded.rawValue)
        }
    }
}

extension Duration {
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
