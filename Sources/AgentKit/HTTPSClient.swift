import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import X509

/// A response from the appliance.
public struct HTTPSResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
}

/// A minimal HTTPS/1.1 client on NIO + NIOSSL (no AsyncHTTPClient: one dependency less and full
/// control over verification). The server is verified by ``ServerTrustPolicy`` inside the TLS
/// handshake; NIOSSL does not send application data before the handshake completes, so a server
/// that fails verification never receives the request.
public struct HTTPSClient: Sendable {
    public var trust: ServerTrustPolicy
    /// PEM client certificate chain and key, presented for mTLS routes.
    public var clientIdentity: (chainPEM: [UInt8], keyPEM: [UInt8])?
    public var timeout: TimeAmount = .seconds(30)

    public init(trust: ServerTrustPolicy, clientIdentity: (chainPEM: [UInt8], keyPEM: [UInt8])? = nil) {
        self.trust = trust
        self.clientIdentity = clientIdentity
    }

    public func send(method: HTTPMethod, url: URL, headers: [(String, String)] = [], body: [UInt8] = []) async throws -> HTTPSResponse {
        guard url.scheme == "https", let rawHost = url.host, !rawHost.isEmpty else {
            throw AgentError(.invalidInput, "server URL must be https://HOST[:PORT] (IPv6 as https://[ADDRESS]:PORT): \(url)")
        }
        let server = ServerHost(rawHost)
        let host = server.name
        let port = url.port ?? 443
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        if let identity = clientIdentity {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(identity.chainPEM).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: identity.keyPEM, format: .pem))
        }
        let context = try NIOSSLContext(configuration: tls)
        let policy = trust
        let refusal = NIOLockedValueBox<String?>(nil)
        let group = MultiThreadedEventLoopGroup.singleton
        let responsePromise = group.next().makePromise(of: HTTPSResponse.self)
        let sniHost = server.sniName
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let ssl = try NIOSSLClientHandler(
                            context: context, serverHostname: sniHost,
                            customVerificationCallback: { certificates, promise in
                                let parsed = certificates.compactMap { try? Certificate(derEncoded: $0.toDERBytes()) }
                                Task {
                                    let reason =
                                        parsed.count == certificates.count
                                        ? await policy.evaluate(presented: parsed, host: server)
                                        : "the server sent an unparseable certificate"
                                    refusal.withLockedValue { $0 = reason }
                                    promise.succeed(reason == nil ? .certificateVerified : .failed)
                                }
                            })
                        try channel.pipeline.syncOperations.addHandler(ssl)
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: responsePromise))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            // The response promise is owned by a handler that never got a channel: settle it, or
            // NIO traps on the leaked promise (debug builds) instead of reporting the failure.
            let failure = AgentError(
                .transport,
                """
                cannot connect to the appliance at \(server.authority(port: port)): \(Self.describe(connectionError: error)); \
                check the URL and port, that `appliance serve` is running there, and that a firewall lets this machine reach it
                """)
            responsePromise.fail(failure)
            throw failure
        }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: url.path.isEmpty ? "/" : url.path)
        head.headers.add(name: "Host", value: server.authority(port: port))
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "Content-Length", value: String(body.count))
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if !body.isEmpty { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let timeout = channel.eventLoop.scheduleTask(in: self.timeout) {
            responsePromise.fail(AgentError(.transport, "no response from \(host):\(port) in time"))
            channel.close(promise: nil)
        }
        defer { timeout.cancel() }
        do {
            let response = try await responsePromise.futureResult.get()
            try? await channel.close()
            return response
        } catch {
            try? await channel.close()
            if let reason = refusal.withLockedValue({ $0 }) {
                throw AgentError(.untrustedServer, "refusing \(host): \(reason); nothing was sent")
            }
            if let error = error as? AgentError { throw error }
            throw AgentError(.transport, "the request to \(server.authority(port: port)) failed: \(Self.describe(connectionError: error))")
        }
    }

    /// A connection failure in words (`Connection refused`, `no answer within 10 s`), never NIO's
    /// `NIOConnectionError(…)`/`SingleConnectionFailure(…)` dump.
    static func describe(connectionError error: any Error) -> String {
        if let connection = error as? NIOConnectionError {
            if connection.dnsAError != nil || connection.dnsAAAAError != nil, connection.connectionErrors.isEmpty {
                return "the host name \(connection.host) does not resolve (check its spelling and DNS)"
            }
            if let first = connection.connectionErrors.first { return describe(connectionError: first.error) }
            return "no address to connect to"
        }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if let channel = error as? ChannelError, case .connectTimeout(let after) = channel {
            return "no answer within \(after.nanoseconds / 1_000_000_000) s"
        }
        if let tls = error as? NIOSSLError { return "the TLS handshake failed (\(tls))" }
        return "\(error)"
    }
}

/// Collects one HTTP response.
final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    let promise: EventLoopPromise<HTTPSResponse>
    var head: HTTPResponseHead?
    var body: [UInt8] = []
    static let maxBody = 1024 * 1024

    init(promise: EventLoopPromise<HTTPSResponse>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let value): head = value
        case .body(var buffer):
            if body.count + buffer.readableBytes > Self.maxBody {
                promise.fail(AgentError(.transport, "response body too large"))
                context.close(promise: nil)
                return
            }
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let head else { return }
            var headers: [String: String] = [:]
            for (name, value) in head.headers { headers[name.lowercased()] = value }
            promise.succeed(HTTPSResponse(status: Int(head.status.code), headers: headers, body: body))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(AgentError(.transport, "connection closed before a complete response"))
    }
}
