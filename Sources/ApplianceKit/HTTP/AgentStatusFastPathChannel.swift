import HummingbirdCore
import Logging
import NIOCore

/// An HTTP/1 child channel with ``AgentStatusFastPathHandler`` added last before Hummingbird's
/// `NIOAsyncChannel` (after `HTTPConnectionStateHandler`, so idle timeout, `Connection: close` and
/// the response codec treat fast answers like the router's). The HTTPS listener only: the agent
/// API is not served on plain HTTP. Without a fast path (`nil`), the base channel unchanged.
struct AgentStatusFastPathChannel<Base: ServerChildChannel & HTTPChannelHandler>: ServerChildChannel, HTTPChannelHandler {
    typealias Value = Base.Value

    let base: Base
    let fastPath: AgentStatusFastPath?

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard let fastPath else { return base.setup(channel: channel, logger: logger) }
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let state = try pipeline.handler(type: HTTPConnectionStateHandler.self)
            try pipeline.addHandler(AgentStatusFastPathHandler(fastPath: fastPath), position: .after(state))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
