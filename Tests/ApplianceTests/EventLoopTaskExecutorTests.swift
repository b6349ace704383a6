import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing

@testable import ApplianceKit

/// ``EventLoopTaskExecutor`` and the rule that comes with it: a connection's task runs on its
/// event loop, and so would every default actor it awaits (SE-0417) — which is why
/// ``RequestTimeoutMiddleware`` runs the routes on the global concurrent executor.
@Suite struct EventLoopTaskExecutorTests {
    actor Elsewhere {
        func ranOn(_ loop: any EventLoop) -> Bool { loop.inEventLoop }
    }

    @Test func aPreferringTaskRunsOnTheLoopAndSoDoesADefaultActorItAwaits() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let elsewhere = Elsewhere()
        let (before, inActor, after) = await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            let before = loop.inEventLoop
            let inActor = await elsewhere.ranOn(loop)
            return (before, inActor, loop.inEventLoop)
        }
        #expect(before, "the task did not start on the event loop")
        #expect(inActor, "SE-0417: a default actor awaited from the task runs on its preferred executor")
        #expect(after, "the task did not come back to the event loop after the actor")
        #expect(!loop.inEventLoop)
        try await group.shutdownGracefully()
    }

    @Test func routesRunOffTheConnectionsLoopAndSoDoTheActorsTheyAwait() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let elsewhere = Elsewhere()
        let channel = NIOAsyncTestingChannel()
        let context = ApplianceRequestContext(source: .init(channel: channel, logger: Logger(label: "test.executor")))
        let request = Request(
            head: HTTPRequest(method: .get, scheme: "https", authority: "localhost", path: "/x"), body: RequestBody(buffer: ByteBuffer()))
        let middleware = RequestTimeoutMiddleware(timeout: .seconds(30))
        let (route, actor, after) = try await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            let observed = OnLoop()
            _ = try await middleware.handle(request, context: context) { _, _ in
                observed.route = loop.inEventLoop
                observed.actor = await elsewhere.ranOn(loop)
                return Response(status: .ok)
            }
            return (observed.route, observed.actor, loop.inEventLoop)
        }
        #expect(route == false, "the route ran on the connection's event loop")
        #expect(actor == false, "an actor the route awaited ran on the connection's event loop")
        #expect(after, "the connection's task did not come back to its loop to write the answer")
        try await group.shutdownGracefully()
    }

    /// What the route saw, set inside it and read after it returned.
    final class OnLoop: @unchecked Sendable {
        var route: Bool?
        var actor: Bool?
    }
}
