import Authority
import NIOConcurrencyHelpers
import Registration

/// A subscriber of the RA's event stream that keeps what it was told, for tests that show a path
/// reaches every subscriber (docs/architecture.md#event-stream).
final class EventRecorder: AuthorityEventSubscriber, Sendable {
    private let box = NIOLockedValueBox<[AuthorityEvent]>([])

    func authorityEventOccurred(_ event: AuthorityEvent) async {
        box.withLockedValue { $0.append(event) }
    }

    var events: [AuthorityEvent] { box.withLockedValue { $0 } }

    /// Every serial announced as revoked, in order.
    var revokedSerials: [String] { events.flatMap(\.revokedSerials) }

    /// The certificates announced as issued, in order.
    var issued: [CertificateRecord] {
        events.compactMap { if case .issued(let record, _) = $0 { record } else { nil } }
    }
}

/// The CRL publication of a CA built without CRL publishers (unit tests of the CA): forcing a
/// CRL is refused with the reason, never answered as if a CRL had been published.
struct NoCRLPublication: CRLPublishing {
    func publishNow() async throws -> String {
        throw ApplianceError.unavailable("this test CA has no CRL publisher")
    }
}
