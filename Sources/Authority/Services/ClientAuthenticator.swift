import X509

/// Decides, on every mTLS request, whether the presented client certificate may act as an agent
/// (docs/endpoints.md#client-certificate-validation: chain, validity, revocation from the store, subject format, clientAuth, registered
/// identity). Not only at the handshake: a certificate revoked mid-connection stops working on the
/// next request.
public protocol ClientAuthenticator: Sendable {
    /// `certificate` is `nil` when the client presented none. Throws only when the decision could
    /// not be evaluated (store down); callers refuse the request then (fail closed).
    func authenticate(_ certificate: Certificate?) async throws -> ClientAuthentication
}

/// The result of ``ClientAuthenticator/authenticate(_:)``.
public enum ClientAuthentication: Sendable {
    case authenticated(AuthenticatedAgent)
    /// No certificate, or one that does not chain/verify/is expired (→ 401).
    case unauthenticated(reason: String, metricReason: String)
    /// A verifying certificate that may not be used: revoked, unknown or wrong identity (→ 403).
    case forbidden(reason: String, metricReason: String)
}

/// An agent whose client certificate passed every check.
public struct AuthenticatedAgent: Sendable {
    public var certificate: Certificate
    public var identity: AgentSubject
    public init(certificate: Certificate, identity: AgentSubject) {
        self.certificate = certificate
        self.identity = identity
    }
}
