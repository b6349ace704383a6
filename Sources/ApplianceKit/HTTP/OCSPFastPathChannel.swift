import HummingbirdCore
import Logging
import NIOCore

/// The plain-HTTP listener's child channel: ``PersistentHTTP1Channel`` with an
/// ``OCSPFastPathHandler`` right after Hummingbird's `HTTPConnectionStateHandler`, where it sees
/// each request after every limit (header sizes, body size, idle timeout) and before Hummingbird's
/// per-request machinery (router, request timeout, response building).
struct OCSPFastPathChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = PersistentHTTP1Channel.Value

    let base: PersistentHTTP1Channel
    let ocsp: any OCSPResponding
    let maxRequestBytes: Int
    let metrics: ApplianceMetrics
    let serverName: String

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let state = try pipeline.handler(type: HTTPConnectionStateHandler.self)
            try pipeline.addHandler(
                OCSPFastPathHandler(responder: ocsp, maxRequestBytes: maxRequestBytes, metrics: metrics, serverName: serverName),
                position: .after(state))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
