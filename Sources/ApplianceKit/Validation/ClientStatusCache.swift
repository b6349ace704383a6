import Foundation
import NIOConcurrencyHelpers
import X509

/// An in-memory view of the store's answers for mTLS clients that are currently good: which
/// certificates are issued and not revoked, and which agents are registered and active.
///
/// Only *positive* answers are remembered; "revoked", "unknown", "not registered" and every
/// error come from the store each time (fail closed). A remembered answer is dropped:
/// - on every revocation, through ``invalidateAll()``, which the `RevocationCoordinator` calls
///   synchronously after the store committed it and before the revoking command returns
///   (revoking an agent revokes its whole certificate line, so this covers agents too);
/// - after ``maximumAge`` in any case, as defence in depth should a store change ever bypass
///   the coordinator (docs/lifecycle.md#revocation-takes-effect: a revoked certificate stops working within one second).
///
/// The other transitions cannot turn a remembered "good" bad: renewal marks the old certificate
/// `superseded`, which the store still answers `good` for until it is revoked; approval and
/// issuance only add agents and certificates, which were never remembered as absent.
/// Store reads that raced a revocation are not remembered (generation check), so an answer read
/// before a revocation cannot be stored after its invalidation.
public final class ClientStatusCache: RevocationChecking, AgentRegistry, Sendable {
    private struct AgentEntry: Sendable {
        var agent: RegisteredAgent
        var storedAt: ContinuousClock.Instant
    }
    private struct State: Sendable {
        var generation: UInt64 = 0
        /// Good certificates and when the store said so.
        var good: [CertificateIdentity: ContinuousClock.Instant] = [:]
        var agents: [String: AgentEntry] = [:]
    }
    private let state = NIOLockedValueBox(State())
    private let revocation: any RevocationChecking
    private let registry: any AgentRegistry
    /// How long a remembered answer is used before the store is asked again.
    public let maximumAge: Duration
    /// Entries per map beyond which the map is cleared (bounded memory).
    public let capacity: Int

    public init(revocation: any RevocationChecking, registry: any AgentRegistry, maximumAge: Duration = .seconds(1), capacity: Int = 65_536) {
        self.revocation = revocation
        self.registry = registry
        self.maximumAge = maximumAge
        self.capacity = max(1, capacity)
    }

    /// Forgets every remembered answer. Synchronous, so the caller knows that no request after
    /// its return is answered from an older view.
    public func invalidateAll() {
        state.withLockedValue {
            $0.generation &+= 1
            $0.good.removeAll()
            $0.agents.removeAll()
        }
    }

    /// Number of remembered good certificates and active agents (for tests).
    public var counts: (certificates: Int, agents: Int) {
        state.withLockedValue { ($0.good.count, $0.agents.count) }
    }

    /// A remembered "good" younger than ``maximumAge``, without touching the store.
    public func isKnownGood(_ certificate: Certificate) -> Bool {
        isKnownGood(key: CertificateIdentity(certificate))
    }

    /// ``isKnownGood(_:)`` for a key the caller made once (a connection's certificate).
    func isKnownGood(key: CertificateIdentity) -> Bool {
        let now = ContinuousClock.now
        return state.withLockedValue { state in
            guard let storedAt = state.good[key] else { return false }
            return now - storedAt < maximumAge
        }
    }

    /// A remembered registered agent younger than ``maximumAge``, without touching the store:
    /// the synchronous counterpart of ``registeredAgent(id:)`` for the agent-status fast path
    /// (``AgentStatusFastPath``). `nil` means "ask the store", never "not registered".
    public func rememberedAgent(id: String) -> RegisteredAgent? {
        let now = ContinuousClock.now
        return state.withLockedValue { state in
            guard let entry = state.agents[id], now - entry.storedAt < maximumAge else { return nil }
            return entry.agent
        }
    }

    public func revocationStatus(of certificate: Certificate) async throws -> RevocationStatus {
        let key = CertificateIdentity(certificate)
        let now = ContinuousClock.now
        let (hit, generation) = state.withLockedValue { state -> (Bool, UInt64) in
            guard let storedAt = state.good[key] else { return (false, state.generation) }
            return (now - storedAt < maximumAge, state.generation)
        }
        if hit { return .good }
        let status = try await revocation.revocationStatus(of: certificate)
        if status == .good {
            remember(generation: generation) { state in
                if state.good.count >= self.capacity { state.good.removeAll(keepingCapacity: true) }
                state.good[key] = now
            }
        }
        return status
    }

    public func registeredAgent(id: String) async throws -> RegisteredAgent? {
        let now = ContinuousClock.now
        let (hit, generation) = state.withLockedValue { state -> (RegisteredAgent?, UInt64) in
            guard let entry = state.agents[id], now - entry.storedAt < maximumAge else { return (nil, state.generation) }
            return (entry.agent, state.generation)
        }
        if let hit { return hit }
        let agent = try await registry.registeredAgent(id: id)
        if let agent {
            remember(generation: generation) { state in
                if state.agents.count >= self.capacity { state.agents.removeAll(keepingCapacity: true) }
                state.agents[id] = AgentEntry(agent: agent, storedAt: now)
            }
        }
        return agent
    }

    /// Applies `change` only if no invalidation happened since `generation` was read.
    private func remember(generation: UInt64, _ change: (inout State) -> Void) {
        state.withLockedValue { state in
            guard state.generation == generation else { return }
            change(&state)
        }
    }
}
