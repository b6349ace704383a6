import Foundation
import NIOConcurrencyHelpers
import PKICore
import X509

/// The pinned root and the current intermediate(s) that client certificates must chain to.
/// Reloadable (intermediate renewal adds one) and shared by the handshake callback and the
/// per-request authenticator.
public final class ClientTrust: Sendable {
    private struct State {
        var root: Certificate
        var intermediates: [Certificate]
    }
    private let state: NIOLockedValueBox<State>
    private let clock: any PKIClock

    public init(root: Certificate, intermediates: [Certificate], clock: any PKIClock = SystemClock()) {
        self.state = NIOLockedValueBox(State(root: root, intermediates: intermediates))
        self.clock = clock
    }

    public var root: Certificate { state.withLockedValue { $0.root } }
    public var intermediates: [Certificate] { state.withLockedValue { $0.intermediates } }

    /// Replaces the set of current intermediates (e.g. after `intermediate install`).
    public func setIntermediates(_ intermediates: [Certificate]) {
        state.withLockedValue { $0.intermediates = intermediates }
    }

    /// Verifies `leaf` up to the pinned root through a current intermediate with RFC 5280 path
    /// validation at the injected clock's time. Returns a reason when it does not verify.
    public func verify(leaf: Certificate, presentedIntermediates: [Certificate] = []) async -> String? {
        let snapshot = state.withLockedValue { $0 }
        // Only our own intermediates may be used as path elements: anything the client sent in
        // its chain is ignored, so a client cannot smuggle in another CA.
        _ = presentedIntermediates
        let now = clock.now()
        var verifier = Verifier(rootCertificates: CertificateStore([snapshot.root])) {
            RFC5280Policy(validationTime: now)
        }
        switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(snapshot.intermediates)) {
        case .validCertificate:
            return nil
        case .couldNotValidate(let failures):
            let first = failures.first.map { "\($0.policyFailureReason)" } ?? "no chain to the pinned root"
            return "client certificate does not verify: \(first)"
        }
    }
}
