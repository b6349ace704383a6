/// Whether a revocation service is publishing as it should; the network layer's `/health`
/// reports it (a degraded publisher still serves its last good CRL).
public enum PublisherHealth: Sendable, Equatable {
    case healthy
    /// The reason names what failed and what is still being served.
    case degraded(reason: String)
    /// Publishing, but something in the store needs an operator (e.g. a revocation whose reason
    /// a full CRL cannot carry, listed without its reason code). `/health` answers 200 with the
    /// detail: the CRL is current, so load balancers must not take the appliance out.
    case attention(reason: String)

    /// Not degraded (``attention(reason:)`` still publishes).
    public var isHealthy: Bool {
        if case .degraded = self { return false }
        return true
    }
}
