import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `GET /api/v1/agent/status` on the HTTPS listener synchronously on the event loop when
/// ``AgentStatusFastPath`` can prove everything the slow route proves from memory
/// (docs/performance.md#agent-status-fast-path); every other request, every miss and every doubt
/// goes on unchanged to Hummingbird's router, which answers, refuses, logs and counts as before.
///
/// It sits after `HTTPConnectionStateHandler`, before the ``RouterGate`` (``FastPathChannel``), so
/// its answers go out through the same codec, persistence handling (`Connection: close`,
/// HTTP/1.0 — ``ConnectionPersistenceHandler``, RFC 9112 §9.3) and idle-timeout bookkeeping as the
/// router's, and the response bytes are the slow route's: the same status and header fields in
/// the same order (`Content-Type`, `Content-Length`, `Date`, `Server`) and the body the slow route
/// encoded. Pipelined requests are answered in order (RFC 9112 §9.3.2): while a request handed to
/// the router is unanswered, the following ones go to the router too.
///
/// No blocking call, no `Task`, no lock held across I/O: the checks are lock-protected memory reads.
final class AgentStatusFastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let path = "/api/v1/agent/status"

    let fastPath: AgentStatusFastPath
    /// The connection's static facts: unknown until the first status request (`nil`), then the
    /// parsed facts or `.some(nil)` for a certificate the fast path never serves.
    private var facts: AgentStatusFastPath.Facts??
    /// Requests handed to the router whose response has not ended yet.
    private var routed = 0
    /// The answer to the request being read (its head was decided, its end not read yet).
    private var pending: AgentStatusDocumentCache.Document?
    private var discarding = false
    /// The request being answered does not keep its connection (``ConnectionPersistenceHandler``
    /// marked it `Connection: close`, HTTP/1.0 without keep-alive included): close after it, and
    /// answer nothing read after it (RFC 9112 §9.6), as the router's connection loop does.
    private var closeAfterAnswer = false
    private var closing = false
    private var date = HTTPDateHeader()

    init(fastPath: AgentStatusFastPath) {
        self.fastPath = fastPath
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if closing { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if routed == 0, head.method == .get, head.path == Self.path, let document = decide(context.channel) {
                pending = document
                discarding = true
                closeAfterAnswer = head.headerFields[.connection] == "close"
                return
            }
            routed += 1
            context.fireChannelRead(data)
        case .body:
            // A GET body is ignored by the router too; it is dropped with the request it belongs to.
            if discarding { return }
            context.fireChannelRead(data)
        case .end:
            guard discarding else {
                context.fireChannelRead(data)
                return
            }
            discarding = false
            if let document = pending {
                pending = nil
                respond(context: context, document)
            }
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Only the router's writes pass here (this handler's own go to the next handler): its end
        // of a response frees the order for the fast path.
        if case .end = unwrapOutboundIn(data), routed > 0 { routed -= 1 }
        context.write(data, promise: promise)
    }

    /// The document to answer with, or `nil` to route the request.
    private func decide(_ channel: any Channel) -> AgentStatusDocumentCache.Document? {
        let started = ContinuousClock.now
        if facts == nil {
            // Registered at the handshake (a resumed session too); none yet: try again next time.
            guard let certificate = fastPath.connections.peerCertificate(of: channel) else { return nil }
            facts = .some(AgentStatusFastPath.Facts(certificate))
        }
        guard let facts = facts ?? nil, let document = fastPath.answer(facts) else { return nil }
        fastPath.answered(validationStarted: started)
        return document
    }

    private func respond(context: ChannelHandlerContext, _ document: AgentStatusDocumentCache.Document) {
        let head = HTTPResponse(
            status: .ok,
            headerFields: [
                .contentType: "application/json",
                .contentLength: String(document.body.count),
                .date: date.value(),
                .server: fastPath.serverName,
            ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: document.body))), promise: nil)
        guard closeAfterAnswer else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        closing = true
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
