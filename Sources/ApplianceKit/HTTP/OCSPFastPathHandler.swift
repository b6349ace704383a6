import Foundation
import NIOCore
import NIOHTTP1

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
/// Sits right after NIO's HTTP/1 decoder and ``ConnectionPersistenceHandler``, on NIO's own
/// request and response parts: an answer given here skips the conversion to and from
/// swift-http-types and every handler behind it, which was most of what such an answer cost
/// (BENCHMARKS.md, row 4c). What those handlers did for a request answered here is done here:
/// - the listener's idle timeout (`limits.idle_timeout_seconds`, also the header timeout): this
///   handler sees every request part and every answer, so it owns the timer for the plain-HTTP
///   listener and Hummingbird's `HTTPConnectionStateHandler` is built without one (it still
///   handles graceful shutdown, for which an answer given here is never in progress: it is
///   written within the read that completed its request);
/// - ``IncompleteRequestCloser``'s rule needs nothing: only a request read whole is answered;
/// - ``ConnectionPersistenceHandler`` is in front of this handler and still sees every request
///   and answer.
///
/// Answers stay in request order (RFC 9112 §9.3.2): while Hummingbird still owes an answer on
/// this connection, every request goes to it. A request that does not keep its connection is
/// answered, then the connection's output is closed, as Hummingbird's connection loop does.
///
/// Counts what the route counts (`rootkeeper_ocsp_responses_total` by the responder,
/// `rootkeeper_ocsp_response_duration_seconds`) and its own answers in
/// `rootkeeper_ocsp_fast_path_total`. No lock is held across I/O: the cache lookup is a
/// dictionary read under the cache's lock, then the write.
final class OCSPFastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

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
        case holding(HTTPRequestHead, Target, body: [ByteBuffer], bodyBytes: Int)
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
    private let idleTimeout: TimeAmount?
    /// The last request part read or answer ended: the idle timeout counts from here.
    private var lastActive = NIODeadline.now()
    private var idleCheck: Scheduled<Void>?

    /// `idleTimeout`: the listener's `limits.idle_timeout_seconds`, nil for none.
    init(responder: any OCSPResponding, maxRequestBytes: Int, metrics: ApplianceMetrics, serverName: String, idleTimeout: TimeAmount?) {
        self.responder = responder
        self.maxRequestBytes = maxRequestBytes
        self.metrics = metrics
        self.serverName = serverName
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { scheduleIdleCheck(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        lastActive = .now()
        scheduleIdleCheck(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
        context.fireChannelInactive()
    }

    /// Hummingbird's idle rule (`HTTPConnectionStateHandler`), which this handler replaces on
    /// the plain-HTTP listener: the connection is closed once nothing was read or answered for
    /// the timeout — unless a request read whole still waits for Hummingbird's answer (a request
    /// still being read, such as a slow-loris header or body, is not protected).
    private func scheduleIdleCheck(context: ChannelHandlerContext) {
        guard let idleTimeout, idleCheck == nil else { return }
        idleCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: lastActive + idleTimeout) { [self] in
            idleCheck = nil
            guard context.channel.isActive else { return }
            let answering: Bool
            if case .forwarding = state { answering = false } else { answering = owedByHummingbird > 0 }
            if answering || NIODeadline.now() < lastActive + idleTimeout {
                if answering { lastActive = .now() }
                scheduleIdleCheck(context: context)
            } else {
                context.close(promise: nil)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActive = .now()
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
        if case .end = unwrapOutboundIn(data) {
            if owedByHummingbird > 0 { owedByHummingbird -= 1 }
            lastActive = .now()
        }
        context.write(data, promise: promise)
    }

    /// The request's target if this handler may answer it; nil hands it to Hummingbird.
    private func target(of head: HTTPRequestHead) -> Target? {
        // Origin-form only (RFC 9112 §3.2.1); anything else is the router's to interpret.
        let path = head.uri
        guard !head.headers.contains(name: "expect") else { return nil }
        switch head.method {
        case .POST where path == "/ocsp":
            let declared = head.headers["content-length"]
            if declared.count > 1 || declared.first.map({ Int($0).map { $0 > maxRequestBytes } ?? true }) == true {
                return nil
            }
            return .post
        case .GET where path.hasPrefix("/ocsp/"):
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
    private func release(_ head: HTTPRequestHead, body: [ByteBuffer], context: ChannelHandlerContext) {
        owedByHummingbird += 1
        state = .forwarding
        context.fireChannelRead(wrapInboundOut(.head(head)))
        for buffer in body { context.fireChannelRead(wrapInboundOut(.body(buffer))) }
    }

    /// Writes the cached answer with the route's headers (`ESTResponse.bytes` plus Hummingbird's
    /// Date and Server, in its order and spelling, HTTP/1.1 as Hummingbird answers), flushed at the
    /// end of this read so pipelined answers leave together.
    private func answer(_ response: [UInt8], to request: HTTPRequestHead, started: ContinuousClock.Instant, context: ChannelHandlerContext) {
        let headers = HTTPHeaders([
            ("Content-Type", "application/ocsp-response"), ("Content-Length", String(response.count)), ("Date", date.value()),
            ("Server", serverName),
        ])
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response)))), promise: nil)
        metrics.observeOCSP(since: started)
        metrics.ocspFastPathAnswered()
        // Hummingbird's loop ends a connection whose request does not persist (RFC 9112 §9.3;
        // ConnectionPersistenceHandler adds `Connection: close` to this answer), as it does:
        // output closed after the answer (FIN, RFC 9112 §9.6 — no reset that could destroy the
        // answer at the client), then the rest when the client closes (or the idle timeout).
        if !request.isKeepAlive {
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
