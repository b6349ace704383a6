import Foundation
import Registration

/// A subscriber of the RA's event stream that keeps every event, in order.
final class RecordedEvents: AuthorityEventSubscriber, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [AuthorityEvent] = []

    func authorityEventOccurred(_ event: AuthorityEvent) async {
        lock.withLock { recorded.append(event) }
    }

    var all: [AuthorityEvent] { lock.withLock { recorded } }

    /// Every serial announced as revoked, in order.
    var revokedSerials: [String] { all.flatMap(\.revokedSerials) }

    /// Serials announced as issued, in order.
    var issuedSerials: [String] { all.compactMap { if case .issued(let record, _) = $0 { record.serial } else { nil } } }
}
