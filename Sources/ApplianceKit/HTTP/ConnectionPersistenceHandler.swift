import NIOCore
import NIOHTTP1

/// Applies HTTP/1 connection persistence (RFC 9112 §9.3) before the request head loses its
/// version: an HTTP/1.0 request without the `keep-alive` option, or any request whose
/// `Connection` header names `close` in whatever case, is marked `Connection: close`, the one
/// spelling Hummingbird's connection loop reads, so the server closes after the response instead
/// of holding the connection until `limits.idle_timeout_seconds`. Its response says so too
/// (`Connection: close`, RFC 9112 §9.6).
///
/// Sits between NIO's request decoder and Hummingbird's `HTTP1ToHTTPServerCodec`, where the
/// head is still an `HTTPRequestHead` with its version (the `HTTPRequest` after it has none).
final class ConnectionPersistenceHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Whether each request read and not yet answered keeps its connection, oldest first
    /// (pipelined requests are answered in order, RFC 9112 §9.3.2).
    private var persists = CircularBuffer<Bool>()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        let keepAlive = head.isKeepAlive
        persists.append(keepAlive)
        guard !keepAlive else {
            context.fireChannelRead(data)
            return
        }
        head.headers.replaceOrAdd(name: "connection", value: "close")
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        // An interim 1xx response is not the answer: the connection's fate goes on the final one.
        case .head(var head) where head.status.code >= 200 && persists.first == false:
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end:
            _ = persists.popFirst()
            context.write(data, promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }
}
