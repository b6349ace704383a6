import NIOConcurrencyHelpers
import NIOCore
import X509

/// The open mTLS connections by client-certificate serial, so a revocation can close them
/// (docs/lifecycle.md#revocation-takes-effect: a revoked certificate stops working within one second, also on an already-open
/// connection — refusing its next request is not enough for a connection that stays idle or
/// streams).
///
/// It also keeps each connection's client certificate as parsed at the handshake, so a request
/// on a kept-alive connection reads it from memory instead of asking the TLS handler for the DER
/// (a hop to the channel's event loop) and parsing it again. A TLS 1.3 connection's peer
/// certificate cannot change after the handshake (BoringSSL offers no renegotiation and no
/// post-handshake authentication to a server), so the parsed value is exactly the peer's; every
/// request still validates it in full (``StandardClientAuthenticator``).
public final class ConnectionRegistry: Sendable {
    private struct Entry {
        let serial: String
        let channel: any Channel
        let certificate: Certificate
    }
    private struct Table {
        var bySerial: [String: Set<ObjectIdentifier>] = [:]
        /// Holds each channel strongly until its close callback runs, so its identifier cannot be
        /// reused by a new channel while the entry exists.
        var byChannel: [ObjectIdentifier: Entry] = [:]
    }
    private let table = NIOLockedValueBox(Table())

    public init() {}

    /// Records `channel` as authenticated by `certificate`, whose serial is `serial` (store hex
    /// form), until it closes.
    func register(serial: String, channel: any Channel, certificate: Certificate) {
        let key = ObjectIdentifier(channel)
        table.withLockedValue {
            if let previous = $0.byChannel[key], previous.serial != serial { $0.bySerial[previous.serial]?.remove(key) }
            $0.byChannel[key] = Entry(serial: serial, channel: channel, certificate: certificate)
            $0.bySerial[serial, default: []].insert(key)
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.table.withLockedValue { table in
                guard let entry = table.byChannel[key], entry.channel === channel else { return }
                table.byChannel[key] = nil
                table.bySerial[entry.serial]?.remove(key)
                if table.bySerial[entry.serial]?.isEmpty == true { table.bySerial[entry.serial] = nil }
            }
        }
    }

    /// Closes every open connection authenticated by `serial`; returns how many were closed.
    @discardableResult
    public func closeConnections(serial: String) -> Int {
        let open: [any Channel] = table.withLockedValue { table in
            let keys = table.bySerial.removeValue(forKey: serial.lowercased()) ?? []
            // The entries stay until each channel's close callback removes them; a request that
            // races the close is refused anyway (the status caches were emptied first).
            return keys.compactMap { table.byChannel[$0]?.channel }
        }
        for channel in open { channel.close(promise: nil) }
        return open.count
    }

    /// Whether `channel` is registered (under any serial).
    func isRegistered(_ channel: any Channel) -> Bool {
        let key = ObjectIdentifier(channel)
        return table.withLockedValue { $0.byChannel[key]?.channel === channel }
    }

    /// The client certificate `channel` was registered with at its handshake, or `nil`.
    func peerCertificate(of channel: any Channel) -> Certificate? {
        let key = ObjectIdentifier(channel)
        return table.withLockedValue { table in
            guard let entry = table.byChannel[key], entry.channel === channel else { return nil }
            return entry.certificate
        }
    }

    /// Number of open connections for `serial` (for tests and metrics).
    public func openConnections(serial: String) -> Int {
        table.withLockedValue { $0.bySerial[serial.lowercased()]?.count ?? 0 }
    }
}
