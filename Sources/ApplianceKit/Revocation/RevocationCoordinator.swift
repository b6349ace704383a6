import Foundation
import Logging
import PKICore
import Registration
import X509

/// The revocation subscriber of the RA's event stream (docs/architecture.md#event-stream): told
/// after every unit of work that revoked something, it makes the revocation take effect
/// everywhere, in this order (docs/lifecycle.md#revocation-takes-effect: a revoked certificate
/// stops working within one second, also on an already-open connection):
///
/// 1. drops the mTLS client-status caches (the next request reads the store),
/// 2. drops the serial's cached OCSP answers (OCSP says `revoked` on the very next request),
/// 3. closes open connections authenticated with the serial (``ConnectionRegistry``),
/// 4. schedules a new CRL for every active issuer (coalesced by ``CRLPublisher``).
///
/// Everything it tells is fixed when it is built; nothing subscribes later.
public final class RevocationCoordinator: AuthorityEventSubscriber, Sendable {
    let ocsp: [OCSPResponder]
    let crlPublishers: [CRLPublisher]
    /// Set for a multi-issuer appliance (renewal overlap): every issuer's responder and publisher.
    let issuerOCSP: IssuerOCSPResponders?
    let issuerCRLs: IssuerCRLPublishers?
    /// In-memory views of revocation state (the mTLS ``ClientStatusCache``), dropped first.
    let caches: [ClientStatusCache]
    let connections: ConnectionRegistry?
    let logger: Logger

    /// The coordinator of an appliance answering for several intermediates (current and retiring).
    public init(
        ocsp: IssuerOCSPResponders, crlPublishers: IssuerCRLPublishers, caches: [ClientStatusCache],
        connections: ConnectionRegistry, logger: Logger
    ) {
        self.ocsp = []
        self.crlPublishers = []
        self.issuerOCSP = ocsp
        self.issuerCRLs = crlPublishers
        self.caches = caches
        self.connections = connections
        self.logger = logger
    }

    /// A coordinator for the parts a test runs (one responder, one publisher, some caches).
    public init(
        ocsp: OCSPResponder?, crlPublisher: CRLPublisher?, caches: [ClientStatusCache] = [],
        connections: ConnectionRegistry? = nil, logger: Logger = Logger(label: "rootkeeper.revocation")
    ) {
        self.ocsp = ocsp.map { [$0] } ?? []
        self.crlPublishers = crlPublisher.map { [$0] } ?? []
        self.issuerOCSP = nil
        self.issuerCRLs = nil
        self.caches = caches
        self.connections = connections
        self.logger = logger
    }

    public func authorityEventOccurred(_ event: AuthorityEvent) async {
        guard case .revoked = event else { return }
        await revocationOccurred(serials: event.revokedSerials)
    }

    /// Call after the store has recorded the revocation of `serials` (lower-case hex of the DER
    /// INTEGER content, as in `CertificateRecord.serial`). OCSP and the caches are updated and
    /// connections closed before this returns; the CRL is generated in the background.
    public func revocationOccurred(serials: [String]) async {
        // First, and even for an empty list (an agent revoked with no certificates): the next
        // mTLS request must see the store, not a view from before the revocation.
        for cache in caches { cache.invalidateAll() }
        guard !serials.isEmpty else { return }
        for serial in serials {
            for responder in ocsp { responder.revocationOccurred(serialHex: serial) }
            issuerOCSP?.revocationOccurred(serialHex: serial)
        }
        if let connections {
            for serial in serials {
                let closed = connections.closeConnections(serial: serial)
                if closed > 0 {
                    logger.notice("closed connections of a revoked certificate", metadata: ["serial": "\(serial)", "connections": "\(closed)"])
                }
            }
        }
        for publisher in crlPublishers { await publisher.revocationOccurred() }
        await issuerCRLs?.revocationOccurred()
    }

    /// As ``revocationOccurred(serials:)`` for certificate serial numbers.
    public func revocationOccurred(serialNumbers: [Certificate.SerialNumber]) async {
        await revocationOccurred(serials: serialNumbers.map { PKICore.Hex.encode($0.bytes) })
    }
}
