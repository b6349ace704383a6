import HummingbirdCore
import Logging
import NIOCore

/// An HTTP/1 child channel with one fast-path handler of ours (``OCSPFastPathHandler`` on the
/// plain-HTTP listener, ``AgentStatusFastPathHandler`` on HTTPS; docs/performance.md) right after
/// Hummingbird's `HTTPConnectionStateHandler`: there it sees each request after every limit
/// (header sizes, body size, idle timeout, ``ConnectionPersistenceHandler``'s `Connection: close`)
/// and before Hummingbird's per-request machinery (router, request timeout, response building),
/// and its answers go out through the same codec and connection bookkeeping as the router's.
/// Without a handler (`makeHandler` `nil`), the base channel unchanged.
struct FastPathChannel<Base: ServerChildChannel & HTTPChannelHandler>: ServerChildChannel, HTTPChannelHandler {
    typealias Value = Base.Value

    let base: Base
    /// Makes the handler for one connection (handlers keep per-connection state).
    let makeHandler: (@Sendable () -> any ChannelHandler)?

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard let makeHandler else { return base.setup(channel: channel, logger: logger) }
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let state = try pipeline.handler(type: HTTPConnectionStateHandler.self)
            try pipeline.addHandler(makeHandler(), position: .after(state))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
