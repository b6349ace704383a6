/// The one stream of ``AuthorityEvent``s of a ``RegistrationAuthority``: its subscribers are
/// fixed when it is built (docs/conventions.md#composition-root), so nothing can join or leave
/// after the appliance starts, and no path of the RA can forget to tell one of them.
///
/// Subscribers are told in the order given, one after the other, and the RA call returns only
/// when all have been told — so when `appliance certs revoke` answers, OCSP, the mTLS caches and
/// open connections have already caught up (docs/lifecycle.md#revocation-takes-effect).
public struct AuthorityEventStream: Sendable {
    public let subscribers: [any AuthorityEventSubscriber]

    public init(_ subscribers: [any AuthorityEventSubscriber]) {
        self.subscribers = subscribers
    }

    /// A stream nobody listens to: for RA unit tests and offline tools that change no running state.
    public static let unobserved = AuthorityEventStream([])

    public func emit(_ events: [AuthorityEvent]) async {
        for event in events {
            for subscriber in subscribers { await subscriber.authorityEventOccurred(event) }
        }
    }
}
