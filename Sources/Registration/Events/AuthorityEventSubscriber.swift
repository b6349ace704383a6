/// A part that must follow what the RA commits: the revocation coordinator (caches, OCSP, CRL,
/// open connections), metrics, the audit journal (docs/architecture.md#event-stream).
public protocol AuthorityEventSubscriber: Sendable {
    /// Called once per event, after the unit of work that caused it has committed, before the
    /// RA call returns to its caller. Must not throw: the change is already durable, and a
    /// subscriber that cannot act (a CRL that fails to build) reports and retries on its own.
    func authorityEventOccurred(_ event: AuthorityEvent) async
}
