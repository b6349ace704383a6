import Foundation
import PKICore

/// The RA's tunable policy (docs/lifecycle.md defaults).
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
    /// How long a tokenless registration may wait for an administrator before it expires and
    /// frees its hostname. Default 7 days: without a limit a request holds a hostname forever.
    public var pendingLifetime: TimeInterval
    /// How many unexpired pending registrations one source address may hold at once; 0 = no
    /// limit. Default 20: a site behind one NAT address can still enrol a batch, a squatter cannot
    /// hold every hostname of the fleet.
    public var maxPendingPerSource: Int
    /// Names the appliance itself answers to — its server certificate's DNS names and IP
    /// addresses and its listener addresses — canonical (lower case). No agent may be registered,
    /// approved, token-bound or issued under one of them: an agent certificate naming the
    /// appliance would let that agent impersonate it to any relying party that trusts the
    /// intermediate for that name.
    public private(set) var reservedNames: Set<String>

    public init(
        renewBefore: TimeInterval = 30 * 86_400, revokeSupersededAfter: TimeInterval? = 86_400,
        tokenLifetime: TimeInterval = 86_400, tokenRedeliveryWindow: TimeInterval = 3600,
        pendingLifetime: TimeInterval = 7 * 86_400, maxPendingPerSource: Int = 20, reservedNames: [String] = []
    ) {
        self.renewBefore = renewBefore
        self.revokeSupersededAfter = revokeSupersededAfter
        self.tokenLifetime = tokenLifetime
        self.tokenRedeliveryWindow = tokenRedeliveryWindow
        self.pendingLifetime = pendingLifetime
        self.maxPendingPerSource = maxPendingPerSource
        self.reservedNames = Set(reservedNames.map(NameSyntax.asciiLowercased))
    }

    /// Adds names the appliance answers to (compared case-insensitively).
    public mutating func reserve(_ names: some Sequence<String>) {
        reservedNames.formUnion(names.map(NameSyntax.asciiLowercased))
    }

    /// Whether `hostname` is one of the appliance's own names.
    public func isReserved(_ hostname: String) -> Bool {
        reservedNames.contains(NameSyntax.asciiLowercased(hostname))
    }

    /// Whether a pending registration created at `created` has expired at `now`.
    public func pendingExpired(created: Date, at now: Date) -> Bool {
        now >= created + pendingLifetime
    }
}
