import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's `HTTP1Channel` with ``ConnectionPersistenceHandler`` in its pipeline, right
/// after NIO's request decoder: both listeners close a connection after the response when the
/// request does not persist (RFC 9112 §9.3; an HTTP/1.0 request without keep-alive above all).
struct PersistentHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(ConnectionPersistenceHandler(), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
