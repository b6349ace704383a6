import NIOCore

/// A task executor that runs jobs on one NIO event loop: a connection's Hummingbird task, given
/// its channel's loop as its executor preference (``FastPathChannel``), reads its requests and
/// writes its answers on the thread that does the channel's I/O, instead of handing each part
/// between that thread and the concurrency pool's (docs/performance.md: those hand-offs — futex
/// wake-ups and context switches — were about a seventh of the server's samples per handshake,
/// BENCHMARKS.md). Work that awaits
/// an actor (the CA, the stores) still runs on that actor's executor and comes back; what the
/// task runs itself must not block, as on any event loop: PKCS#11 signing runs on its session's
/// own queue and the stores' I/O on theirs.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
