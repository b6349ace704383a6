import Hummingbird
import Logging
import NIOCore
import NIOSSL
import X509

/// Request context of both listeners: Hummingbird's core storage plus the connection's channel,
/// from which the TLS peer certificate is read on every request.
public struct ApplianceRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// The connection's client certificate, or `nil` when none was presented (or on plain HTTP).
    func peerCertificate() async throws -> Certificate? { try await Self.peerCertificate(of: channel) }

    /// The TLS peer certificate of `channel` (the console's context reads it the same way).
    static func peerCertificate(of channel: any Channel) async throws -> Certificate? {
        let peer: NIOSSLCertificate?
        do {
            peer = try await channel.nioSSL_peerCertificate().get()
        } catch {
            return nil
        }
        guard let peer else { return nil }
        return try Certificate(derEncoded: try peer.toDERBytes())
    }

    /// The client's IP address without the port (the key of per-source rate limits).
    var sourceAddress: String {
        channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// The client's address, for registration records and logs.
    /// `127.0.0.1:34818` or `[::1]:34818` — not NIO's `[IPv4]127.0.0.1/127.0.0.1:34818`.
    var remoteDescription: String { Self.remoteDescription(of: channel) }

    static func remoteDescription(of channel: any Channel) -> String {
        guard let address = channel.remoteAddress, let ip = address.ipAddress else { return "unknown" }
        let port = address.port.map { ":\($0)" } ?? ""
        return ip.contains(":") ? "[\(ip)]\(port)" : "\(ip)\(port)"
    }
}
