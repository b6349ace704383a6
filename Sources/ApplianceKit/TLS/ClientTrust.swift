import Foundation
import NIOConcurrencyHelpers
import PKICore
import X509

/// The pinned root and the current intermediate(s) that client certificates must chain to.
/// Reloadable (intermediate renewal adds one) and shared by the handshake callback and the
/// per-request authenticator.
///
/// A chain that validated once is remembered (``VerifiedChainCache``), so a kept-alive agent or a
/// returning one does not pay the root's RSA signature and the leaf's ECDSA signature again on
/// every request and handshake; validity and the current anchors are re-checked on every call.
public final class ClientTrust: Sendable {
    private struct State {
        var root: Certificate
        var intermediates: [Certificate]
        var anchors: VerifiedChainCache.Anchors
        var verified: VerifiedChainCache
    }
    private let state: NIOLockedValueBox<State>
    private let clock: any PKIClock

    /// - Parameter cacheCapacity: how many validated client chains to remember (0 disables the cache).
    public init(root: Certificate, intermediates: [Certificate], clock: any PKIClock = SystemClock(), cacheCapacity: Int = 65_536) {
        self.state = NIOLockedValueBox(
            State(
                root: root, intermediates: intermediates,
                anchors: VerifiedChainCache.Anchors(root: root, intermediates: intermediates),
                verified: VerifiedChainCache(capacity: cacheCapacity)))
        self.clock = clock
        self.cacheEnabled = cacheCapacity > 0
    }

    private let cacheEnabled: Bool

    public var root: Certificate { state.withLockedValue { $0.root } }
    public var intermediates: [Certificate] { state.withLockedValue { $0.intermediates } }

    /// Number of remembered validated chains (for tests).
    public var cachedChainCount: Int { state.withLockedValue { $0.verified.count } }

    /// Replaces the set of current intermediates (e.g. after `intermediate install` or a
    /// retirement) and forgets every remembered chain.
    public func setIntermediates(_ intermediates: [Certificate]) {
        state.withLockedValue {
            $0.intermediates = intermediates
            $0.anchors = VerifiedChainCache.Anchors(root: $0.root, intermediates: intermediates)
            $0.verified.removeAll()
        }
    }

    /// The verdict for `leaf` from the remembered chains alone, synchronously (no path
    /// validation): `nil` when no chain is remembered, otherwise what ``verify(leaf:presentedIntermediates:)``
    /// would answer — `.some(nil)` for valid, `.some(reason)` when the remembered chain no longer
    /// holds at the clock's time or for the current anchors.
    public func cachedVerdict(leaf: Certificate) -> String?? {
        cachedVerdict(key: CertificateIdentity(leaf))
    }

    /// ``cachedVerdict(leaf:)`` for a key the caller made once (a connection's certificate).
    func cachedVerdict(key: CertificateIdentity) -> String?? {
        guard cacheEnabled else { return nil }
        let now = clock.now()
        let (anchors, cached) = state.withLockedValue { ($0.anchors, $0.verified.chain(for: key)) }
        guard let cached else { return nil }
        return .some(VerifiedChainCache.recheck(cached, now: now, anchors: anchors))
    }

    /// Verifies `leaf` up to the pinned root through a current intermediate with RFC 5280 path
    /// validation at the injected clock's time. Returns a reason when it does not verify.
    public func verify(leaf: Certificate, presentedIntermediates: [Certificate] = []) async -> String? {
        // Only our own intermediates may be used as path elements: anything the client sent in
        // its chain is ignored, so a client cannot smuggle in another CA.
        _ = presentedIntermediates
        let now = clock.now()
        let key = CertificateIdentity(leaf)
        let (root, intermediates, anchors, cached, generation) = state.withLockedValue {
            ($0.root, $0.intermediates, $0.anchors, cacheEnabled ? $0.verified.chain(for: key) : nil, $0.verified.generation)
        }
        if let cached {
            return VerifiedChainCache.recheck(cached, now: now, anchors: anchors)
        }
        var verifier = Verifier(rootCertificates: CertificateStore([root])) {
            RFC5280Policy(validationTime: now)
        }
        switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates)) {
        case .validCertificate(let chain):
            if cacheEnabled {
                state.withLockedValue { $0.verified.insert(Array(chain), for: key, ifGeneration: generation) }
            }
            return nil
        case .couldNotValidate(let failures):
            let first = failures.first.map { "\($0.policyFailureReason)" } ?? "no chain to the pinned root"
            return "client certificate does not verify: \(first)"
        }
    }
}
