import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The console's first middleware (docs/console.md#access), run on every request:
///
/// 1. the administrator certificate (``AdministratorAuthenticator``; refusals are counted in
///    `rootkeeper_certificate_validation_failures_total{reason}` and logged);
/// 2. the session cookie — a new one is issued when there is none or it is not ours;
/// 3. for a POST: a form body (`application/x-www-form-urlencoded`, at most 16 KiB), no foreign
///    `Origin`, and the CSRF token of this session and certificate — otherwise 403 and nothing runs;
/// 4. the security headers on every answer, errors included: a Content-Security-Policy without
///    inline script or style, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`, `nosniff`, `no-store`.
struct ConsoleGuard: RouterMiddleware {
    typealias Context = ConsoleRequestContext

    let authenticator: AdministratorAuthenticator
    let sessions: ConsoleSessions
    let metrics: ApplianceMetrics
    let logger: Logger

    static let securityHeaders: [(HTTPField.Name, String)] = [
        (
            HTTPField.Name("Content-Security-Policy")!,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
        (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
        (HTTPField.Name("X-Content-Type-Options")!, "nosniff"),
        (.cacheControl, "no-store"),
        (HTTPField.Name("Strict-Transport-Security")!, "max-age=31536000"),
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var newCookie: String?
        var response: Response
        do {
            response = try await guarded(request, context: context, newCookie: &newCookie, next: next)
        } catch let refusal as ConsoleRefusal {
            response = Self.errorPage(refusal.status, refusal.message)
        } catch let error as ApplianceError {
            response = Self.errorPage(error.status, error.reason)
        } catch let error as HTTPError where error.status == .notFound {
            response = Self.errorPage(.notFound, "There is no such page.")
        } catch {
            logger.error("console request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            response = Self.errorPage(.internalServerError, "The request failed; the appliance's log says why.")
        }
        for (name, value) in Self.securityHeaders { response.headers[name] = value }
        if let newCookie { response.headers[.setCookie] = ConsoleSessions.setCookie(newCookie) }
        return response
    }

    private func guarded(
        _ request: Request, context: Context, newCookie: inout String?, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        var request = request
        let certificate = try? await ApplianceRequestContext.peerCertificate(of: context.channel)
        switch await authenticator.authenticate(certificate) {
        case .refused(let status, let reason, let metricReason):
            metrics.validationFailure(reason: metricReason)
            logger.notice(
                "console request refused",
                metadata: ["reason": "\(metricReason)", "source": "\(ApplianceRequestContext.remoteDescription(of: context.channel))"])
            let refusal: HTTPResponse.Status = status == 401 ? .unauthorized : status == 503 ? .serviceUnavailable : .forbidden
            throw ConsoleRefusal(status: refusal, message: reason)
        case .administrator(let administrator):
            context.administrator = administrator
        }
        let presented = ConsoleSessions.session(fromCookieHeader: request.headers[.cookie])
        let session: String
        if let presented, sessions.isValid(session: presented) {
            session = presented
        } else {
            session = sessions.newSession()
            newCookie = session
        }
        context.csrfToken = sessions.csrfToken(session: session, serial: context.administrator.serial)
        context.path = request.uri.path

        if request.method == .post {
            let contentType = request.headers[.contentType]?.lowercased() ?? ""
            guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
                throw ConsoleRefusal(status: .unsupportedMediaType, message: "console forms are sent as application/x-www-form-urlencoded")
            }
            // With `Referrer-Policy: no-referrer` browsers send `Origin: null` on our own forms
            // (Fetch §3.2.5), so only a named foreign origin is refused here; the cookie's
            // SameSite=Strict and the CSRF token are what stop a forged form.
            if let origin = request.headers[.origin], origin != "null", let host = request.head.authority, origin != "https://\(host)" {
                throw ConsoleRefusal(status: .forbidden, message: "the form was sent from another site (Origin \(origin)); nothing was done")
            }
            let body: ByteBuffer
            do { body = try await request.collectBody(upTo: ConsoleRoutes.maxFormBytes) } catch {
                throw ConsoleRefusal(status: .contentTooLarge, message: "the form is larger than \(ConsoleRoutes.maxFormBytes) bytes")
            }
            let form = Self.parseForm(String(buffer: body))
            // A session issued just now cannot have a token yet: refused like a wrong one.
            guard newCookie == nil, let presented, sessions.checkCSRF(form["csrf"], session: presented, serial: context.administrator.serial)
            else {
                metrics.validationFailure(reason: "console_csrf")
                logger.notice("console POST refused: CSRF token missing or wrong", metadata: ["administrator": "\(context.administrator.commonName)"])
                throw ConsoleRefusal(
                    status: .forbidden, message: "the form's security token is missing or does not match this session; reload the page and try again")
            }
            context.form = form
        }
        return try await next(request, context)
    }

    /// `application/x-www-form-urlencoded` (WHATWG URL §5.1): `+` is a space, then percent-decoding.
    static func parseForm(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            guard let name = parts.first else { continue }
            fields[decode(name)] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    static func errorPage(_ status: HTTPResponse.Status, _ message: String) -> Response {
        ConsoleRoutes.html(status, ConsoleTemplates.render("error", ["status": "\(status.code) \(status.reasonPhrase)", "message": message]))
    }
}
