import Foundation
import Registration

/// A subscriber of the RA's event stream that keeps every event, in order, for tests that show a
/// path reaches every subscriber (docs/architecture.md#event-stream).
public final class EventRecorder: AuthorityEventSubscriber, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [AuthorityEvent] = []

    public init() {}

    public func authorityEventOccurred(_ event: AuthorityEvent) async {
        lock.withLock { recorded.append(event) }
    }

    /// Every event, in order.
    public var all: [AuthorityEvent] { lock.withLock { recorded } }

    /// Every serial announced as revoked, in order.
    public var revokedSerials: [String] { all.flatMap(\.revokedSerials) }

    /// The certificates announced as issued, in order.
    public var issued: [CertificateRecord] { all.compactMap { if case .issued(let record, _) = $0 { record } else { nil } } }

    /// Serials announced as issued, in order.
    public var issuedSerials: [String] { issued.map(\.serial) }
}
