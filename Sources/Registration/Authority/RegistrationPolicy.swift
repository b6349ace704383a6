import Foundation

/// The RA's tunable policy (DESIGN §4 defaults).
public struct RegistrationPolicy: Hashable, Sendable {
    /// How long before notAfter an agent may (and is told to) renew. Default 30 days.
    public var renewBefore: TimeInterval
    /// How long after supersession the old certificate is revoked with reason `superseded`;
    /// `nil` turns the policy off. Default 24 hours.
    public var revokeSupersededAfter: TimeInterval?
    /// Lifetime of enrolment tokens created by ``RegistrationAuthority/createToken(hostname:by:)``.
    public var tokenLifetime: TimeInterval
    /// How long after a token enrolment the same agent, with the same key and token, gets the
    /// certificate it was issued again (an answer lost on the wire). Default 1 hour.
    public var tokenRedeliveryWindow: TimeInterval

    public init(renewBefore: TimeInterval = 30 * 86_400, revokeSupersededAfter: TimeInterval? = 86_400,
                tokenLifetime: TimeInterval = 86_400, tokenRedeliveryWindow: TimeInterval = 3600) {
        self.renewBefore = renewBefore
        self.revokeSupersededAfter = revokeSupersededAfter
        self.tokenLifetime = tokenLifetime
        self.tokenRedeliveryWindow = tokenRedeliveryWindow
    }
}
