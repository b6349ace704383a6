import Hummingbird
import NIOCore

/// RFC 6585 §4: 429 Too Many Requests, with Retry-After (RFC 9110 §10.2.3) in whole seconds
/// until the client's next token.
extension RateLimitExceeded: HTTPResponseError {
    public var status: HTTPResponse.Status { .tooManyRequests }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(
            status: .tooManyRequests,
            headers: [.retryAfter: String(retryAfterSeconds), .contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: "\(reason); retry after \(retryAfterSeconds) s\n")))
    }
}
