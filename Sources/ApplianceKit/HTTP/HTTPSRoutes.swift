import Foundation
import Hummingbird
import Logging
import NIOCore
import PKICore
import X509

/// Routes of the HTTPS listener: EST (RFC 7030 §3.2.2) and the agent API.
struct HTTPSRoutes: Sendable {
    let services: ApplianceServices
    let configuration: ApplianceConfiguration
    let metrics: ApplianceMetrics
    let logger: Logger
    /// Per-source and per-agent limits on enrolment and renewal (429 + Retry-After beyond).
    var rateLimits: EnrollmentRateLimits = .unlimited

    func register(on router: Router<ApplianceRequestContext>) {
        router.get("/.well-known/est/cacerts") { _, _ in try await self.caCertificates() }
        router.get("/.well-known/est/csrattrs") { _, _ in try await self.csrAttributes() }
        router.post("/.well-known/est/simpleenroll") { request, context in try await self.enroll(request, context) }
        // Routes for enrolled agents only: authenticated per request before the handler runs.
        let agents = AgentRoutes(router: router, authenticate: { context in try await self.authenticate(context) })
        agents.post(
            "/.well-known/est/simplereenroll", precheck: { context in try self.limited { try self.rateLimits.checkSource(context.sourceAddress) } }
        ) {
            request, context in try await self.reenroll(request, context)
        }
        agents.get("/api/v1/agent/status") { _, context in try await self.status(context) }
    }

    func caCertificates() async throws -> Response {
        let certificates = try await call("cacerts") { try await services.certificateAuthority.caCertificates() }
        return ESTResponse.certsOnly(try PKCS7CertsOnly(certificates: certificates).base64Encoded())
    }

    func csrAttributes() async throws -> Response {
        guard let der = try await call("csrattrs", { try await services.certificateAuthority.csrAttributes() }) else {
            return Response(status: .noContent)
        }
        // RFC 7030 §4.5.2: application/csrattrs, base64.
        let body = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return ESTResponse.text(body + "\r\n", contentType: "application/csrattrs")
    }

    func enroll(_ request: Request, _ context: ApplianceRequestContext) async throws -> Response {
        var request = request
        // The source limit comes first, before the body is read or anything is parsed.
        try limited { try rateLimits.checkSource(context.sourceAddress) }
        let token = try ESTRequestParsing.token(from: request)
        let csr = try await ESTRequestParsing.csr(from: &request, limit: configuration.limits.maxESTBodyBytes)
        if let agent = ESTRequestParsing.agentIdentity(ofCSR: csr) {
            try limited { try rateLimits.checkEnrollment(agent: agent.commonName) }
        }
        // The address without the port: pending registrations are counted per source address.
        let outcome = try await call("simpleenroll") {
            try await services.certificateAuthority.enroll(csrDER: csr, token: token, source: context.sourceAddress)
        }
        return try outcome.response()
    }

    func reenroll(_ request: Request, _ context: AuthenticatedRequestContext) async throws -> Response {
        var request = request
        let agent = context.agent
        do {
            try limited { try rateLimits.checkRenewal(agent: agent.identity.commonName) }
        } catch {
            metrics.renewalRefused(reason: "rate_limited")
            throw error
        }
        let csr = try await ESTRequestParsing.csr(from: &request, limit: configuration.limits.maxESTBodyBytes)
        // RFC 7030 §4.2.2: a renewal keeps the identity. The RA decides whether the CSR repeats it
        // (Registration's IdentityMismatch); a refusal is counted here with the other
        // failures of a presented certificate.
        let outcome = try await call("simplereenroll") { try await services.certificateAuthority.reenroll(csrDER: csr, client: agent) }
        // Renewal outcomes for the console's 24 h rate (docs/console.md#pages): a success is
        // counted from the event stream when the certificate is signed, a refusal here.
        switch outcome {
        case .identityMismatch(let reason):
            metrics.validationFailure(reason: "reenroll_identity_mismatch")
            metrics.renewalRefused(reason: "identity_mismatch")
            logger.notice("renewal for another identity refused (403)", metadata: ["reason": "\(reason)", "agent": "\(agent.identity.uuid)"])
        case .rejected:
            metrics.renewalRefused(reason: "not_renewable")
        case .issued, .pending:
            break
        }
        return try outcome.response()
    }

    func status(_ context: AuthenticatedRequestContext) async throws -> Response {
        let agent = context.agent
        let read: () async throws -> AgentStatus = {
            try await call("agent status") { try await services.certificateAuthority.agentStatus(client: agent) }
        }
        // With the fast path, the answer is also remembered for the connection's next polls.
        let body: [UInt8]
        if let fastPath = services.agentStatusFastPath {
            body = try await fastPath.encodedStatus(of: agent.certificate, read)
        } else {
            body = try AgentStatusFastPath.encode(try await read())
        }
        return ESTResponse.bytes(body, contentType: "application/json")
    }

    /// Re-validates the connection's client certificate for this request (docs/endpoints.md#client-certificate-validation: every
    /// request, so a revocation also stops an already-open keep-alive connection). Called only by
    /// ``AgentRoutes``, which hands the result to the handler.
    func authenticate(_ context: ApplianceRequestContext) async throws -> AuthenticatedAgent {
        let started = ContinuousClock.now
        defer { metrics.observeValidation(since: started) }
        let certificate: Certificate?
        do {
            // The certificate parsed at this connection's handshake (``ConnectionRegistry``);
            // asking the TLS handler only for a connection that registered none.
            if let registered = services.connections.peerCertificate(of: context.channel) {
                certificate = registered
            } else {
                certificate = try await context.peerCertificate()
            }
        } catch {
            metrics.validationFailure(reason: "malformed_certificate")
            throw ApplianceError.unauthenticated("client certificate cannot be parsed")
        }
        let result: ClientAuthentication
        do {
            result = try await services.clientAuthenticator.authenticate(certificate)
        } catch {
            metrics.validationFailure(reason: "validation_unavailable")
            logger.error("client authentication could not be evaluated; refusing", metadata: ["error": "\(error)"])
            throw ApplianceError.unavailable("client certificate status cannot be checked right now")
        }
        switch result {
        case .authenticated(let agent):
            return agent
        case .unauthenticated(let reason, let metricReason):
            metrics.validationFailure(reason: metricReason)
            logger.notice("mTLS request refused (401)", metadata: ["reason": "\(reason)", "peer": "\(context.remoteDescription)"])
            throw ApplianceError.unauthenticated(reason)
        case .forbidden(let reason, let metricReason):
            metrics.validationFailure(reason: metricReason)
            logger.notice("mTLS request refused (403)", metadata: ["reason": "\(reason)", "peer": "\(context.remoteDescription)"])
            throw ApplianceError.forbidden(reason)
        }
    }

    /// Runs a rate-limit check, counting and logging a refusal.
    func limited(_ check: () throws -> Void) throws {
        do {
            try check()
        } catch let error as RateLimitExceeded {
            metrics.registry.increment("rootkeeper_requests_rate_limited_total", labels: ["limit": error.limit])
            logger.notice("EST request rate-limited (429)", metadata: ["reason": "\(error.reason)", "retry_after": "\(error.retryAfterSeconds)"])
            throw error
        }
    }

    /// Calls a backing service; an unexpected error becomes 503 (fail closed) and is logged.
    func call<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ApplianceError {
            throw error
        } catch let error as PKIError where error.code == .malformedInput {
            throw ApplianceError.malformed(error.reason)
        } catch {
            logger.error("\(what) failed", metadata: ["error": "\(error)"])
            throw ApplianceError.unavailable("\(what) is temporarily unavailable")
        }
    }
}
