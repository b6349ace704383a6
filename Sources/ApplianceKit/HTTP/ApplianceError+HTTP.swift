import Hummingbird
import NIOCore
import PKICore

/// A conditional conformance to `HTTPResponseError` must state the inherited one too.
extension CodedError: ResponseGenerator where Domain == ApplianceErrorDomain {}

/// The only place HTTP status codes are assigned to domain failures (docs/conventions.md#http-status-codes).
extension ApplianceError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch code {
        case .malformedRequest: return .badRequest
        case .requestTooLarge: return .contentTooLarge
        case .unsupportedMediaType: return .unsupportedMediaType
        case .unauthenticated: return .unauthorized
        case .forbidden: return .forbidden
        case .notFound: return .notFound
        case .unavailable, .notWired: return .serviceUnavailable
        default: return .internalServerError
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
        if code == .unauthenticated {
            // RFC 9110 §11.6.1: a 401 names how to authenticate; EST uses TLS client auth here.
            headers[.wwwAuthenticate] = "Basic realm=\"rootkeeper-est\""
        }
        let body = reason + "\n"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// HTTP renderings of enrolment outcomes (RFC 7030 §4.2.3).
extension EnrollmentOutcome {
    func response() throws -> Response {
        switch self {
        case .issued(let certificate, _):
            // RFC 7030 §4.2.3: the response carries only the issued certificate.
            let body = try PKCS7CertsOnly(certificates: [certificate]).base64Encoded()
            return ESTResponse.certsOnly(body)
        case .pending(let registrationID, let retryAfter):
            return Response(
                status: .accepted,
                headers: [.retryAfter: String(retryAfter), .contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "registration \(registrationID) is pending approval\n")))
        case .rejected(let reason), .identityMismatch(let reason):
            return Response(
                status: .forbidden, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "enrolment rejected: \(reason)\n")))
        }
    }
}

/// Response builders for EST bodies.
enum ESTResponse {
    static func certsOnly(_ base64: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "application/pkcs7-mime; smime-type=certs-only",
                // RFC 7030 §4.1.3 / RFC 2045 §6: EST bodies are base64.
                .init("Content-Transfer-Encoding")!: "base64",
            ],
            body: .init(byteBuffer: ByteBuffer(string: base64)))
    }

    static func bytes(_ bytes: [UInt8], contentType: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func text(_ text: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
