import NIOConcurrencyHelpers
import NIOCore

/// The open mTLS connections by client-certificate serial, so a revocation can close them
/// (docs/lifecycle.md#revocation-takes-effect: a revoked certificate stops working within one second, also on an already-open
/// connection — refusing its next request is not enough for a connection that stays idle or
/// streams).
public final class ConnectionRegistry: Sendable {
    private let channels = NIOLockedValueBox<[String: [ObjectIdentifier: any Channel]]>([:])

    public init() {}

    /// Records `channel` as authenticated by the certificate with `serial` (store hex form) until
    /// it closes.
    func register(serial: String, channel: any Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLockedValue { $0[serial, default: [:]][key] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.channels.withLockedValue { table in
                table[serial]?[key] = nil
                if table[serial]?.isEmpty == true { table[serial] = nil }
            }
        }
    }

    /// Closes every open connection authenticated by `serial`; returns how many were closed.
    @discardableResult
    public func closeConnections(serial: String) -> Int {
        let open = channels.withLockedValue { $0.removeValue(forKey: serial.lowercased()) ?? [:] }
        for channel in open.values { channel.close(promise: nil) }
        return open.count
    }

    /// Whether `channel` is registered (under any serial).
    func isRegistered(_ channel: any Channel) -> Bool {
        let key = ObjectIdentifier(channel)
        return channels.withLockedValue { table in table.values.contains { $0[key] != nil } }
    }

    /// Number of open connections for `serial` (for tests and metrics).
    public func openConnections(serial: String) -> Int {
        channels.withLockedValue { $0[serial.lowercased()]?.count ?? 0 }
    }
}
