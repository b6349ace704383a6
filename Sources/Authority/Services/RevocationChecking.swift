import X509

/// Revocation status from the store, consulted on every handshake and every mTLS request.
///
/// Implementations must look: "not revoked" without consulting the store is a bug (docs/conventions.md#fail-closed).
/// The one allowed view in front of the store is ``ClientStatusCache``: it repeats only answers
/// the store gave, at most 1 s old, and is emptied synchronously by every revocation.
/// A thrown error is treated by callers as a refusal (fail closed).
public protocol RevocationChecking: Sendable {
    func revocationStatus(of certificate: Certificate) async throws -> RevocationStatus
    /// Whether an in-memory view already knows `certificate` to be good, answered synchronously
    /// (for the handshake's cache-hit path on the event loop). `false` means "ask
    /// ``revocationStatus(of:)``", never "bad"; the default knows nothing.
    func isKnownGood(_ certificate: Certificate) -> Bool
}

extension RevocationChecking {
    public func isKnownGood(_ certificate: Certificate) -> Bool { false }
}

/// What the store knows about one certificate.
public enum RevocationStatus: Sendable, Equatable {
    /// Issued by us, known to the store and not revoked.
    case good
    /// Revoked, with the RFC 5280 §5.3.1 reason name.
    case revoked(reason: String)
    /// Never issued by us (or not in the store): refused like a revoked certificate.
    case unknown
}

/// Registered agent identities (seam for `Registration`/`CAStore`).
public protocol AgentRegistry: Sendable {
    /// The registered agent with this UUID, or `nil` when no such agent is registered.
    func registeredAgent(id: String) async throws -> RegisteredAgent?
}

/// The identity an agent was registered with.
public struct RegisteredAgent: Sendable, Equatable {
    public var id: String
    public var hostname: String
    public init(id: String, hostname: String) {
        self.id = id
        self.hostname = hostname
    }
}
