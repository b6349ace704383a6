import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import Testing

@testable import ApplianceKit

#if canImport(Glibc)
    import Glibc
#endif

/// ``RouterGate`` on its own (docs/performance.md#connections-the-fast-paths-serve-whole): what
/// opens it (a request part for the router, a request that cannot be parsed) and what ends an
/// unopened connection without building Hummingbird's async channel (any other error, the close).
/// `OCSPFastPathTests.servedWhole` shows the same on the real `serve`.
@Suite("Router gate: Hummingbird's async channel only for requests that need the router")
struct RouterGateTests {
    /// A channel with only the gate, and the gate's promise.
    static func gated() async throws -> (NIOAsyncTestingChannel, EventLoopFuture<RouterGate.Opened?>) {
        let channel = NIOAsyncTestingChannel()
        let opened = channel.eventLoop.makePromise(of: RouterGate.Opened?.self)
        try await channel.pipeline.addHandler(RouterGate(opened: opened, logger: Logger(label: "test.gate")))
        try await channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        return (channel, opened.futureResult)
    }

    @Test("a request part the fast path passed on opens the gate, and reaches Hummingbird's side")
    func requestOpens() async throws {
        let (channel, routed) = try await Self.gated()
        let head = HTTPRequest(method: .get, scheme: nil, authority: "a", path: "/health")
        try await channel.writeInbound(HTTPRequestPart.head(head))
        let opened = try #require(try await routed.get(), "the gate did not open")
        var parts = opened.inbound.makeAsyncIterator()
        let first = try await parts.next()
        guard case .head(let received) = first else {
            Issue.record("Hummingbird's side got \(String(describing: first)) instead of the request head")
            return
        }
        #expect(received.path == "/health")
        #expect(channel.isActive)
        _ = try? await channel.finish()
    }

    @Test("a request that cannot be parsed opens the gate: Hummingbird's loop answers it 400 and closes")
    func parseErrorOpens() async throws {
        let (channel, routed) = try await Self.gated()
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidVersion)
        let opened = try #require(try await routed.get(), "the gate did not open for a parse error")
        var parts = opened.inbound.makeAsyncIterator()
        await #expect(throws: HTTPParserError.self) { _ = try await parts.next() }
        _ = try? await channel.finish()
    }

    @Test("any other error before the gate opened (a reset, an unclean TLS end) closes the connection without opening it")
    func otherErrorsClose() async throws {
        let (channel, routed) = try await Self.gated()
        channel.pipeline.fireErrorCaught(IOError(errnoCode: ECONNRESET, reason: "read(descriptor:pointer:size:)"))
        #expect(try await routed.get() == nil)
        #expect(!channel.isActive, "the connection was left open")
    }

    @Test("a connection that closes before the gate opened ends its task (the promise completes empty)")
    func closeSettles() async throws {
        let (channel, routed) = try await Self.gated()
        try await channel.close()
        #expect(try await routed.get() == nil)
    }
}
