import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers the common OCSP request on the plain-HTTP listener's event loop, without Hummingbird
/// (docs/endpoints.md#ocsp, docs/performance.md): `POST /ocsp` or `GET /ocsp/{base64}` (RFC 6960
/// Appendix A.1) whose answer the responder's cache already holds, pre-signed and fresh — one
/// CertID of ours, no nonce (``OCSPResponding/cachedResponse(toRequest:)``, the same lookup the
/// slow path makes first). Such an answer is written at once from the cached bytes, with the
/// headers the Hummingbird route sends (Content-Type, Content-Length, Date, Server).
///
/// Everything else — a request not read whole in one read from the socket, a cache miss, a nonce, several CertIDs, malformed DER or base64, a body
/// over `limits.max_ocsp_request_bytes`, `Expect`, a query, any other path or method — is handed
/// to Hummingbird unchanged: the parts held so far are fired on in order, so that request is
/// answered exactly as before (the route, its 400/413, the request timeout).
///
/// Sits after Hummingbird's `HTTPConnectionStateHandler`, so the idle timeout, graceful shutdown,
/// ``IncompleteRequestCloser`` and ``ConnectionPersistenceHandler`` see every request and answer
/// it answers. Answers stay in request order (RFC 9112 §9.3.2): while Hummingbird still owes an
/// answer on this connection, every request goes to it. A request that does not keep its
/// connection (`Connection: close` as ``ConnectionPersistenceHandler`` marks it) is answered,
/// then the connection is closed, as Hummingbird's connection loop does.
///
/// Counts what the route counts (`rootkeeper_ocsp_responses_total` by the responder,
/// `rootkeeper_ocsp_response_duration_seconds`) and its own answers in
/// `rootkeeper_ocsp_fast_path_total`. No lock is held across I/O: the cache lookup is a
/// dictionary read under the cache's lock, then the write.
final class OCSPFastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let counter = "rootkeeper_ocsp_fast_path_total"

    /// What the request held back would ask for.
    private enum Target {
        /// `POST /ocsp`: the DER is the body.
        case post
        /// `GET /ocsp/{base64}`: the DER decoded from the path.
        case get([UInt8])
    }

    private enum State {
        /// Between requests.
        case idle
        /// A request that may be answered here, held back (not yet seen by Hummingbird).
        case holding(HTTPRequest, Target, body: [ByteBuffer], bodyBytes: Int)
        /// The current request is Hummingbird's: its parts pass through until its end.
        case forwarding
        /// Answered a request that closes the connection: nothing more is read.
        case closed
    }

    let responder: any OCSPResponding
    let maxRequestBytes: Int
    let metrics: ApplianceMetrics
    let serverName: String
    private var state = State.idle
    /// Requests handed to Hummingbird whose answer has not been written yet.
    private var owedByHummingbird = 0
    private var date = HTTPDateHeader()
    private var needsFlush = false

    init(responder: any OCSPResponding, maxRequestBytes: Int, metrics: ApplianceMetrics, serverName: String) {
        self.responder = responder
        self.maxRequestBytes = maxRequestBytes
        self.metrics = metrics
        self.serverName = serverName
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (state, part) {
        case (.closed, _):
            return
        case (.idle, .head(let head)):
            if owedByHummingbird == 0, let target = target(of: head) {
                state = .holding(head, target, body: [], bodyBytes: 0)
            } else {
                owedByHummingbird += 1
                state = .forwarding
                context.fireChannelRead(data)
            }
        case (.holding(let head, let target, var body, let bodyBytes), .body(let buffer)):
            body.append(buffer)
            let total = bodyBytes + buffer.readableBytes
            // A GET has no body to the route, and an oversized POST is the route's 413.
            if case .get = target {
                release(head, body: body, context: context)
            } else if total > maxRequestBytes {
                release(head, body: body, context: context)
            } else {
                state = .holding(head, target, body: body, bodyBytes: total)
            }
        case (.holding(let head, let target, let body, _), .end(let trailers)):
            let started = ContinuousClock.now
            let der: [UInt8]
            switch target {
            case .post:
                der = body.count == 1 ? Array(body[0].readableBytesView) : body.reduce(into: [UInt8]()) { $0 += $1.readableBytesView }
            case .get(let decoded):
                der = decoded
            }
            guard trailers == nil, let response = responder.cachedResponse(toRequest: der) else {
                release(head, body: body, context: context)
                context.fireChannelRead(data)
                state = .idle
                return
            }
            answer(response, to: head, started: started, context: context)
        case (.holding(let head, _, let body, _), .head):
            // The decoder never starts a request before the last one's end; should it, the held
            // one goes to Hummingbird first, in order.
            release(head, body: body, context: context)
            state = .idle
            channelRead(context: context, data: data)
        case (.forwarding, .end):
            state = .idle
            context.fireChannelRead(data)
        case (.forwarding, _), (.idle, _):
            context.fireChannelRead(data)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Only a request that arrived whole in one read is answered here. One still incomplete
        // (a body dribbled in, a slow client) goes to Hummingbird now, whose request timeout
        // (limits.request_timeout_seconds: 503, then close) bounds it as before.
        if case .holding(let head, _, let body, _) = state {
            release(head, body: body, context: context)
        }
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A parse error in the middle of a held request: Hummingbird answers it (400), so it
        // must have seen the request first, as it would have without this handler.
        if case .holding(let head, _, let body, _) = state {
            release(head, body: body, context: context)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), owedByHummingbird > 0 {
            owedByHummingbird -= 1
        }
        context.write(data, promise: promise)
    }

    /// The request's target if this handler may answer it; nil hands it to Hummingbird.
    private func target(of head: HTTPRequest) -> Target? {
        guard let path = head.path, head.headerFields[.expect] == nil else { return nil }
        switch head.method {
        case .post where path == "/ocsp":
            if let declared = head.headerFields[.contentLength], Int(declared).map({ $0 > maxRequestBytes }) ?? true {
                return nil
            }
            return .post
        case .get where path.hasPrefix("/ocsp/"):
            // As the route decodes it (PublicRoutes), for paths the router surely sends there.
            let encoded = path.dropFirst("/ocsp/".count)
            guard !encoded.isEmpty, !encoded.hasSuffix("/"), !encoded.contains("//"),
                !encoded.contains(where: { $0 == "?" || $0 == "#" })
            else { return nil }
            let base64 = encoded.removingPercentEncoding ?? String(encoded)
            guard let data = Data(base64Encoded: base64) else { return nil }
            return .get([UInt8](data))
        default:
            return nil
        }
    }

    /// Hands a held request to Hummingbird: its head and body parts, in the order read.
    private func release(_ head: HTTPRequest, body: [ByteBuffer], context: ChannelHandlerContext) {
        owedByHummingbird += 1
        state = .forwarding
        context.fireChannelRead(wrapInboundOut(.head(head)))
        for buffer in body { context.fireChannelRead(wrapInboundOut(.body(buffer))) }
    }

    /// Writes the cached answer with the route's headers (`ESTResponse.bytes` plus Hummingbird's
    /// Date and Server), flushed at the end of this read so pipelined answers leave together.
    private func answer(_ response: [UInt8], to request: HTTPRequest, started: ContinuousClock.Instant, context: ChannelHandlerContext) {
        var fields = HTTPFields()
        fields.reserveCapacity(4)
        fields[.contentType] = "application/ocsp-response"
        fields[.contentLength] = String(response.count)
        fields[.date] = date.value()
        fields[.server] = serverName
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .ok, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: response))), promise: nil)
        metrics.observeOCSP(since: started)
        metrics.registry.increment(Self.counter)
        // Hummingbird's loop ends a connection whose request says exactly this
        // (ConnectionPersistenceHandler has normalised it), as it does: output closed after the
        // answer (FIN, RFC 9112 §9.6 — no reset that could destroy the answer at the client),
        // then Hummingbird closes the rest when the client does (its idle timeout otherwise).
        if request.headerFields[.connection] == "close" {
            state = .closed
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.close(mode: .output, promise: nil)
        } else {
            state = .idle
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            needsFlush = true
        }
    }
}
