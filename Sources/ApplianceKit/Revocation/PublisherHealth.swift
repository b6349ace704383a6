/// Whether a revocation service is publishing as it should; the network layer's `/health`
/// reports it (a degraded publisher still serves its last good CRL).
public enum PublisherHealth: Sendable, Equatable {
    case healthy
    /// The reason names what failed and what is still being served.
    case degraded(reason: String)

    public var isHealthy: Bool { self == .healthy }
}
