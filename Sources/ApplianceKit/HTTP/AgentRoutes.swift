import Hummingbird

/// A request on the HTTPS listener whose client certificate has been verified for this very
/// request (docs/endpoints.md#client-certificate-validation). Only ``AgentRoutes`` makes one, so a
/// handler that takes it cannot run for a caller that was not authenticated.
struct AuthenticatedRequestContext: Sendable {
    /// The verified agent: its certificate (good, chained to the pinned root, not revoked) and identity.
    let agent: AuthenticatedAgent
    /// The underlying request context (source address, channel).
    let base: ApplianceRequestContext
}

/// The agent-only routes of the HTTPS listener: each request is authenticated before its handler
/// runs, and the handler receives the identity in an ``AuthenticatedRequestContext`` instead of
/// calling an authentication function by hand (which a new route could forget).
struct AgentRoutes {
    typealias Authenticate = @Sendable (ApplianceRequestContext) async throws -> AuthenticatedAgent
    typealias Precheck = @Sendable (ApplianceRequestContext) throws -> Void
    typealias Handler = @Sendable (Request, AuthenticatedRequestContext) async throws -> Response

    let router: Router<ApplianceRequestContext>
    let authenticate: Authenticate

    /// `precheck` runs before authentication (a per-source rate limit: cheaper than validating a chain).
    func get(_ path: RouterPath, precheck: Precheck? = nil, _ handler: @escaping Handler) {
        let authenticate = self.authenticate
        router.get(path) { request, context in try await Self.run(request, context, precheck, authenticate, handler) }
    }

    func post(_ path: RouterPath, precheck: Precheck? = nil, _ handler: @escaping Handler) {
        let authenticate = self.authenticate
        router.post(path) { request, context in try await Self.run(request, context, precheck, authenticate, handler) }
    }

    private static func run(
        _ request: Request, _ context: ApplianceRequestContext, _ precheck: Precheck?, _ authenticate: Authenticate, _ handler: Handler
    ) async throws -> Response {
        try precheck?(context)
        let agent = try await authenticate(context)
        return try await handler(request, AuthenticatedRequestContext(agent: agent, base: context))
    }
}
