import Hummingbird

/// Bounds the time a handler may take (limits.request_timeout_seconds); a slow backing service
/// yields 503 instead of holding a connection open indefinitely.
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
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask { try await wrapped.call(request, context) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let response = first else {
                    throw ApplianceError.unavailable("request took longer than \(timeout)")
                }
                return response
            }
        }
    }
}
