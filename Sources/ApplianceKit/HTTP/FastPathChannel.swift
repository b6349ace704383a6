import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// The HTTP/1 child channel of the HTTPS and plain listeners: Hummingbird's `HTTP1Channel`
/// pipeline, plus ``ConnectionPersistenceHandler`` right after NIO's request decoder (both
/// listeners close a connection after the answer when the request does not persist, RFC 9112
/// §9.3: an HTTP/1.0 request without keep-alive above all), plus one fast-path handler of ours
/// (docs/performance.md) where `position` says, with a ``RouterGate`` last instead of
/// Hummingbird's async channel.
///
/// Hummingbird wraps every accepted connection in a `NIOAsyncChannel` and runs its connection
/// loop over it; for a connection the fast paths serve whole (an agent's status poll, an OCSP
/// answer from the cache, one connection each), building, reading and tearing down that async
/// channel cost more than the answer (BENCHMARKS.md, issue #17). The gate builds it only when
/// the first request the fast path does not answer arrives; from then on the connection is
/// Hummingbird's as before, `handleHTTP` included.
struct FastPathChannel: ServerChildChannel, HTTPChannelHandler {
    /// A connection until its gate opens: `routed` completes with Hummingbird's async channel
    /// then, or with `nil` when the connection ends first.
    struct Value: ServerChildChannelValue {
        let channel: any Channel
        let routed: EventLoopFuture<RouterGate.Opened?>
    }

    /// Where the handler goes in the pipeline.
    enum Position: Sendable {
        /// Right after Hummingbird's `HTTPConnectionStateHandler`, on swift-http-types parts
        /// (``AgentStatusFastPathHandler``): it sees each request after every limit (header and
        /// body sizes, idle timeout, ``ConnectionPersistenceHandler``'s `Connection: close`) and
        /// before Hummingbird's per-request machinery (router, request timeout, response
        /// building), and its answers take the same codec and connection bookkeeping.
        case afterConnectionState
        /// Right after ``ConnectionPersistenceHandler``, on NIO's HTTP/1 parts
        /// (``OCSPFastPathHandler``): before the conversion to swift-http-types and every
        /// handler behind it. Such a handler takes over what those handlers do for the requests
        /// it answers (see its documentation).
        case afterConnectionPersistence
    }

    let responder: HTTPChannelHandler.Responder
    let configuration: HTTP1Channel.Configuration
    let position: Position
    /// Makes the handler for one connection (handlers keep per-connection state); `nil`: no fast
    /// path, every request goes to the router.
    let makeHandler: (@Sendable () -> any ChannelHandler)?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // The handlers and settings of Hummingbird's `HTTP1Channel.setup`, in its order.
            let pipeline = channel.pipeline.syncOperations
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = configuration.httpDecoder.maxHeaderFieldSize
            limits.maxHeaderListSize = configuration.httpDecoder.maxHeaderListSize
            limits.maxHeaderFieldCount = configuration.httpDecoder.maxHeaderFieldCount
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false,  // answers are ordered by the handlers and Hummingbird's loop
                withErrorHandling: false,  // Hummingbird's loop answers parse errors
                withOutboundHeaderValidation: false,  // swift-http-types validates
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: limits)
            let persistence = ConnectionPersistenceHandler()
            try pipeline.addHandler(persistence)
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandlers(configuration.additionalChannelHandlers())
            let state = HTTPConnectionStateHandler(idleTimeout: configuration.idleTimeout.map { .init($0) }, logger: logger)
            try pipeline.addHandler(state)
            if let makeHandler {
                switch position {
                case .afterConnectionState: try pipeline.addHandler(makeHandler(), position: .after(state))
                case .afterConnectionPersistence: try pipeline.addHandler(makeHandler(), position: .after(persistence))
                }
            }
            let opened = channel.eventLoop.makePromise(of: RouterGate.Opened?.self)
            try pipeline.addHandler(RouterGate(opened: opened, logger: logger))
            return Value(channel: channel, routed: opened.futureResult)
        }
    }

    /// Waits for the gate, then runs Hummingbird's connection loop; both on the connection's event
    /// loop (``EventLoopTaskExecutor``). Cancelled (a hard shutdown), it closes the input, as
    /// Hummingbird's loop does: the gate, still closed, then closes the connection.
    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            let routed = await withTaskCancellationHandler {
                // The gate only ever succeeds its promise.
                (try? await value.routed.get()) ?? nil
            } onCancel: {
                value.channel.close(mode: .input, promise: nil)
            }
            guard let asyncChannel = routed else { return }
            await handleHTTP(asyncChannel: asyncChannel, logger: logger)
        }
    }
}
