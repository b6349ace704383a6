import NIOCore

/// A task executor that runs jobs on one NIO event loop: a connection's Hummingbird task, given
/// its channel's loop as its executor preference (``FastPathChannel``), reads its requests and
/// writes its answers on the thread that does the channel's I/O, instead of handing each part
/// between that thread and the concurrency pool's (docs/performance.md: those hand-offs — futex
/// wake-ups and context switches — were about a seventh of the server's samples per handshake,
/// BENCHMARKS.md). A default actor awaited from such a task runs on the loop too (SE-0417), so
/// request handling leaves it: ``RequestTimeoutMiddleware`` runs every route on the global
/// concurrent executor. What stays on the loop is the connection's own loop over its requests
/// and the writing of answers.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
