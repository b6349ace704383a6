import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import ApplianceKit

/// ``RequestTimeoutMiddleware`` on a testing event loop whose time the test advances: the deadline
/// is the loop's scheduled task, so each case is exact and takes no wall-clock wait.
/// (`InputLimitsTests.slowBody` shows the same 503 against a real listener.)
@Suite("Request timeout: 503 at limits.request_timeout_seconds")
struct RequestTimeoutMiddlewareTests {
    static let timeout = Duration.seconds(30)

    static func context(_ channel: NIOAsyncTestingChannel) -> ApplianceRequestContext {
        ApplianceRequestContext(source: .init(channel: channel, logger: Logger(label: "test.timeout")))
    }

    static func request() -> Request {
        Request(head: HTTPRequest(method: .get, scheme: "https", authority: "localhost", path: "/x"), body: RequestBody(buffer: ByteBuffer()))
    }

    /// Runs the middleware around `handler`, advancing the loop's time by `advance` once the
    /// handler has started; the response status or the thrown error's description.
    static func run(advance: Duration, _ handler: @escaping @Sendable () async throws -> Response) async throws -> String {
        let channel = NIOAsyncTestingChannel()
        let started = NIOLockedValueBox(false)
        let middleware = RequestTimeoutMiddleware(timeout: timeout)
        let task = Task {
            do {
                let response = try await middleware.handle(request(), context: context(channel)) { _, _ in
                    started.withLockedValue { $0 = true }
                    return try await handler()
                }
                return "\(response.status.code)"
            } catch {
                return "\(error)"
            }
        }
        while !started.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        await channel.testingEventLoop.advanceTime(by: TimeAmount(advance))
        return await task.value
    }

    @Test("a handler still running at the deadline is cancelled and the request answered 503")
    func slowHandlerTimesOut() async throws {
        let outcome = try await Self.run(advance: Self.timeout) {
            try await Task.sleep(for: .seconds(3600))
            return Response(status: .ok)
        }
        #expect(outcome.contains("took longer than"), "\(outcome)")
    }

    @Test("a handler that ignores cancellation and returns 200 after the deadline is still answered 503")
    func lateSuccessIsStill503() async throws {
        let outcome = try await Self.run(advance: Self.timeout) {
            // Busy, not cancellable: it notices nothing and finishes once the deadline passed.
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
            return Response(status: .ok)
        }
        #expect(outcome.contains("took longer than"), "\(outcome)")
    }

    @Test("a handler that finishes before the deadline keeps its answer, and its error")
    func fastHandlerKeepsItsAnswer() async throws {
        #expect(try await Self.run(advance: .seconds(29)) { Response(status: .accepted) } == "202")
        let refused = try await Self.run(advance: .seconds(0)) { throw ApplianceError.forbidden("refused by the handler") }
        #expect(refused.contains("refused by the handler") && !refused.contains("took longer"), "\(refused)")
    }

    @Test("the deadline is not reached one tick early")
    func notEarly() async throws {
        let channel = NIOAsyncTestingChannel()
        let release = NIOLockedValueBox(false)
        let started = NIOLockedValueBox(false)
        let task = Task {
            try await RequestTimeoutMiddleware(timeout: Self.timeout).handle(Self.request(), context: Self.context(channel)) { _, _ in
                started.withLockedValue { $0 = true }
                while !release.withLockedValue({ $0 }) && !Task.isCancelled { try await Task.sleep(for: .milliseconds(5)) }
                return Response(status: .ok)
            }.status.code
        }
        while !started.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        await channel.testingEventLoop.advanceTime(by: TimeAmount(Self.timeout - .nanoseconds(1)))
        release.withLockedValue { $0 = true }
        #expect(try await task.value == 200)
    }
}
