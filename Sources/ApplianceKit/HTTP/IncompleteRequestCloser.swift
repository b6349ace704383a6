import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes the connection after a response that was sent before its request had been read to the
/// end — a 413 for an oversized body, a 503 after the request timeout, a 429 before the body.
///
/// Without it the server would go on reading (and discarding) whatever the client still sends,
/// so a client streaming an endless or very slow body would hold a connection indefinitely
/// (Hummingbird drains the rest of a request body to reuse the connection). The response carries
/// `Connection: close` (RFC 9112 §9.6) so a well-behaved client knows not to reuse it.
///
/// It also stops reading from the socket once a request body has passed `maxBodyBytes` (the
/// largest body any route accepts): the route sees enough to refuse it with 413, and the rest of
/// an oversized upload is never read, decrypted or parsed — it stays in the client's socket
/// until the connection is closed.
final class IncompleteRequestCloser: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let maxBodyBytes: Int
    /// A request head has been read but not yet its end.
    private var requestOpen = false
    private var closing = false
    private var bodyBytes = 0
    /// The current body has passed `maxBodyBytes`: read no more.
    private var overflowed = false

    init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestOpen = true
            bodyBytes = 0
        case .body(let buffer):
            // Parts already decoded from the last read are dropped once over the limit.
            guard !overflowed else { return }
            bodyBytes += buffer.readableBytes
            overflowed = bodyBytes > maxBodyBytes
        case .end:
            requestOpen = false
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        // Withholding reads leaves the rest of an oversized body unread in the kernel.
        guard !overflowed else { return }
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where requestOpen && head.status.code >= 200:
            closing = true
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where closing:
            closing = false
            // As Hummingbird's own connection handler does: the flush is issued before the close.
            context.writeAndFlush(data, promise: promise)
            context.close(promise: nil)
        default:
            context.write(data, promise: promise)
        }
    }
}
