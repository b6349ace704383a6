import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// The last handler of a ``FastPathChannel`` connection: it holds Hummingbird's side of the
/// connection (its `NIOAsyncChannel`, which the router's connection loop reads requests from and
/// writes answers to) back until something needs it, so that a connection the fast paths serve
/// whole never pays for it (docs/performance.md#connections-the-fast-paths-serve-whole).
///
/// It opens (wraps the channel in the async channel, behind itself, and hands it over through
/// ``opened``) on the first request part the fast path passes on, or on a request it cannot
/// parse: from then on everything goes through unchanged and Hummingbird's loop answers, refuses
/// and closes exactly as it does without the gate (a parse error gets its `400` and the close).
/// Until then it does what Hummingbird's loop would otherwise do for an idle connection:
/// - any other error (a reset, an unclean TLS end): it closes the connection;
/// - the peer half-closes (`inputClosed`; the listeners allow remote half-closure): nothing is
///   owed, since every fast answer was written when its request ended, so it closes the output,
///   as the loop does when its request stream ends (the channel then closes);
/// - the channel goes away before it opened: ``opened`` completes with `nil`, which ends the
///   connection's Hummingbird task.
final class RouterGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias Opened = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    /// Completes once: with the async channel when the gate opens, `nil` when the connection ends
    /// before.
    let opened: EventLoopPromise<Opened?>
    let logger: Logger
    private var isOpen = false
    private var isSettled = false

    init(opened: EventLoopPromise<Opened?>, logger: Logger) {
        self.opened = opened
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard isOpen || open(context) else { return }
        context.fireChannelRead(data)
    }

    /// Before the gate opened, an error ends the connection as Hummingbird's loop would end it:
    /// a request it cannot parse gets its `400` and the close (the gate opens for it); any other
    /// error (the peer reset the connection, TLS ended uncleanly) closes it without a word.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !isOpen {
            guard error is HTTPParserError else {
                context.fireErrorCaught(error)
                context.close(promise: nil)
                return
            }
            guard open(context) else { return }
        }
        context.fireErrorCaught(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        if !isOpen, case ChannelEvent.inputClosed = event {
            context.close(mode: .output, promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        settle(nil)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        settle(nil)
    }

    /// Puts Hummingbird's async channel behind the gate, as `HTTP1Channel` does at accept time.
    /// If that fails the connection cannot be served: it is logged and closed (fail closed), its
    /// task ends, and `false` says nothing more may go through.
    private func open(_ context: ChannelHandlerContext) -> Bool {
        isOpen = true
        do {
            settle(try Opened(wrappingChannelSynchronously: context.channel, configuration: .init(isOutboundHalfClosureEnabled: true)))
            return true
        } catch {
            logger.error("connection closed: its request could not be handed to the router", metadata: ["error": "\(error)"])
            settle(nil)
            context.close(promise: nil)
            return false
        }
    }

    private func settle(_ value: Opened?) {
        guard !isSettled else { return }
        isSettled = true
        opened.succeed(value)
    }
}
