import HummingbirdCore
import Logging
import NIOCore

/// An HTTP/1 child channel with one fast-path handler of ours (docs/performance.md), placed where
/// `position` says. Without a handler (`makeHandler` `nil`), the base channel unchanged.
struct FastPathChannel<Base: ServerChildChannel & HTTPChannelHandler>: ServerChildChannel, HTTPChannelHandler {
    typealias Value = Base.Value

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

    let base: Base
    let position: Position
    /// Makes the handler for one connection (handlers keep per-connection state).
    let makeHandler: (@Sendable () -> any ChannelHandler)?

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard let makeHandler else { return base.setup(channel: channel, logger: logger) }
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            switch position {
            case .afterConnectionState:
                try pipeline.addHandler(makeHandler(), position: .after(try pipeline.handler(type: HTTPConnectionStateHandler.self)))
            case .afterConnectionPersistence:
                try pipeline.addHandler(makeHandler(), position: .after(try pipeline.handler(type: ConnectionPersistenceHandler.self)))
            }
            return value
        }
    }

    /// Hummingbird's connection loop, run on the connection's event loop (``EventLoopTaskExecutor``).
    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            await base.handle(value: value, logger: logger)
        }
    }
}
