import Hummingbird
import NIOConcurrencyHelpers
import NIOCore

/// Bounds the time a handler may take (limits.request_timeout_seconds); a slow backing service
/// yields 503 instead of holding a connection open indefinitely.
///
/// The handler runs in one child task; the deadline is a task scheduled on the connection's event
/// loop (a timer entry, cancelled as soon as the handler returns) that cancels that child. This
/// replaces a second, sleeping child task per request with the same behaviour: at the deadline
/// the handler is cancelled, and once it has stopped the request is answered 503 whatever the
/// handler returned or threw.
///
/// That child runs on the global concurrent executor, not on the connection's event loop where
/// the connection's task runs (``EventLoopTaskExecutor``): a task prefers its parent's executor,
/// and so does every default actor it awaits (SE-0417), so without this the routes, the CA, the
/// stores' actors and whatever they do synchronously (an fsync, a lint, a blocking module call)
/// would run on the loop that serves every other connection assigned to it.
struct RequestTimeoutMiddleware: RouterMiddleware {
    typealias Context = ApplianceRequestContext
    let timeout: Duration

    /// Carries the non-escaping `next` into the task group; sound because the group is always
    /// drained before `handle` returns, so the closure never outlives its scope.
    private struct Next: @unchecked Sendable {
        let call: (Request, Context) async throws -> Response
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await withoutActuallyEscaping(next) { escapable in
            let wrapped = Next(call: escapable)
            let deadline = Deadline()
            let timer = context.channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { deadline.expire() }
            defer { timer.cancel() }
            let outcome = await withTaskGroup(of: Result<Response, any Error>.self) { group in
                group.addTask(executorPreference: globalConcurrentExecutor) {
                    withUnsafeCurrentTask { task in deadline.started(task) }
                    defer { deadline.finished() }
                    do { return .success(try await wrapped.call(request, context)) } catch { return .failure(error) }
                }
                return await group.next()!
            }
            if deadline.hasExpired { throw ApplianceError.unavailable("request took longer than \(timeout)") }
            return try outcome.get()
        }
    }

    /// The handler's task and whether the deadline passed, shared by the handler's task and the
    /// timer on the event loop. The task is cancelled under the lock and only while the handler
    /// runs, so the timer never touches a task that has ended.
    private final class Deadline: Sendable {
        private struct State: @unchecked Sendable {
            // `UnsafeCurrentTask` is used only under the lock and only between `started` and
            // `finished`, while the task it names is running the handler.
            var task: UnsafeCurrentTask?
            var running = true
            var expired = false
        }
        private let state = NIOLockedValueBox(State())

        var hasExpired: Bool { state.withLockedValue { $0.expired } }

        /// The handler's task begins: cancelled at once if the deadline already passed.
        func started(_ task: UnsafeCurrentTask?) {
            state.withLockedValue { state in
                guard state.running else { return }
                if state.expired { task?.cancel() } else { state.task = task }
            }
        }

        /// The handler returned or threw: the timer must no longer touch its task.
        func finished() {
            state.withLockedValue { state in
                state.running = false
                state.task = nil
            }
        }

        /// The deadline passed: cancel the handler if it is still running.
        func expire() {
            state.withLockedValue { state in
                guard state.running else { return }
                state.expired = true
                state.task?.cancel()
            }
        }
    }
}
