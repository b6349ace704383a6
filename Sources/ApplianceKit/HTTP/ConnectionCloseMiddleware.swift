import Hummingbird

/// Says `Connection: close` in the response when the request asked for it (RFC 9112 §9.6: the
/// server closes after the final response and SHOULD say so in it). Hummingbird closes such a
/// connection after the response but does not announce it, so a client that keeps the connection
/// (wrk, proxies) sends its next request into the close and sees a read error instead of a clean
/// end. The condition is Hummingbird's own (`HTTPChannelHandler`), so the header never announces
/// a close that does not happen.
struct ConnectionCloseMiddleware: RouterMiddleware {
    typealias Context = ApplianceRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if request.headers[.connection] == "close" { response.headers[.connection] = "close" }
        return response
    }
}
