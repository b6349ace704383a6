import PKICore
import Foundation
import NIOConcurrencyHelpers
import Registration
import X509

/// What the CA calls after every revocation it has committed to the store: drops the serial's
/// cached OCSP answers (so OCSP says `revoked` on the very next request), schedules a new CRL
/// (coalesced by ``CRLPublisher``) and tells subscribers — the network layer closes connections
/// authenticated with a revoked certificate (docs/lifecycle.md#revocation-takes-effect: a revoked certificate stops working
/// within one second, also on an already-open connection).
public final class RevocationCoordinator: Sendable {
    let ocsp: OCSPResponder?
    let crlPublisher: CRLPublisher?
    /// Set for a multi-issuer appliance (renewal overlap): every issuer's responder and publisher.
    let issuerOCSP: IssuerOCSPResponders?
    let issuerCRLs: IssuerCRLPublishers?
    private let subscribers = NIOLockedValueBox<[UUID: AsyncStream<String>.Continuation]>([:])
    /// In-memory views of revocation state (the mTLS ``ClientStatusCache``), dropped synchronously.
    private let caches = NIOLockedValueBox<[ClientStatusCache]>([])

    public init(ocsp: OCSPResponder?, crlPublisher: CRLPublisher?) {
        self.ocsp = ocsp
        self.crlPublisher = crlPublisher
        self.issuerOCSP = nil
        self.issuerCRLs = nil
    }

    /// The coordinator of an appliance answering for several intermediates (current and retiring).
    public init(ocsp: IssuerOCSPResponders, crlPublishers: IssuerCRLPublishers) {
        self.ocsp = nil
        self.crlPublisher = nil
        self.issuerOCSP = ocsp
        self.issuerCRLs = crlPublishers
    }

    /// Call after the store has recorded the revocation of `serials` (lower-case hex of the DER
    /// INTEGER content, as in `CertificateRecord.serial`). OCSP is updated before this returns;
    /// the CRL is generated in the background.
    public func revocationOccurred(serials: [String]) async {
        // First, and even for an empty list (an agent revoked with no certificates): the next
        // mTLS request must see the store, not a view from before the revocation.
        for cache in caches.withLockedValue({ $0 }) { cache.invalidateAll() }
        guard !serials.isEmpty else { return }
        for serial in serials {
            ocsp?.revocationOccurred(serialHex: serial)
            issuerOCSP?.revocationOccurred(serialHex: serial)
        }
        let listeners = subscribers.withLockedValue { Array($0.values) }
        for serial in serials {
            for listener in listeners { listener.yield(serial) }
        }
        await crlPublisher?.revocationOccurred()
        await issuerCRLs?.revocationOccurred()
    }

    /// As ``revocationOccurred(serials:)`` for certificate serial numbers.
    public func revocationOccurred(serialNumbers: [Certificate.SerialNumber]) async {
        await revocationOccurred(serials: serialNumbers.map { PKICore.Hex.encode($0.bytes) })
    }

    /// Registers `cache` to be invalidated on every revocation, before ``revocationOccurred(serials:)``
    /// does anything else (so before the revoking admin command returns).
    public func invalidateOnRevocation(_ cache: ClientStatusCache) {
        caches.withLockedValue { $0.append(cache) }
    }

    /// A stream of revoked serials (hex, as above), from now on, for as long as it is iterated.
    /// Buffers the newest 1 024 serials if the consumer is slow.
    public func revokedSerials() -> AsyncStream<String> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLockedValue { $0.removeValue(forKey: id) }
        }
        subscribers.withLockedValue { $0[id] = continuation }
        return stream
    }

    /// Number of live ``revokedSerials()`` streams.
    public var subscriberCount: Int { subscribers.withLockedValue { $0.count } }
}
