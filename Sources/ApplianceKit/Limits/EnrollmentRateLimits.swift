import Foundation
import PKICore

/// The rate limits on EST enrolment and renewal (docs/endpoints.md#limits, issue 7): a looping or misbehaving
/// client is answered 429 with Retry-After while everyone else keeps being served.
///
/// - per source address: `simpleenroll` + `simplereenroll` requests from one IP address
///   (`limits.enrollments_per_minute_per_source`), checked before the body is read;
/// - per agent on `simpleenroll`: requests whose CSR names the same agent
///   (`limits.enrollments_per_minute_per_agent`) — an agent polling a pending registration
///   faster than Retry-After asks;
/// - per agent on `simplereenroll`: renewals by one authenticated agent
///   (`limits.renewals_per_hour_per_agent`).
public struct EnrollmentRateLimits: Sendable {
    public let perSource: RateLimiter
    public let enrollmentsPerAgent: RateLimiter
    public let renewalsPerAgent: RateLimiter

    public init(limits: ApplianceConfiguration.Limits, clock: any PKIClock = SystemClock()) {
        perSource = RateLimiter(capacity: limits.enrollmentsPerMinutePerSource, interval: 60, clock: clock)
        enrollmentsPerAgent = RateLimiter(capacity: limits.enrollmentsPerMinutePerAgent, interval: 60, clock: clock)
        renewalsPerAgent = RateLimiter(capacity: limits.renewalsPerHourPerAgent, interval: 3600, clock: clock)
    }

    /// No limits at all (routes that never enrol).
    public static let unlimited = EnrollmentRateLimits(
        limits: {
            var limits = ApplianceConfiguration.Limits()
            limits.enrollmentsPerMinutePerSource = 0
            limits.enrollmentsPerMinutePerAgent = 0
            limits.renewalsPerHourPerAgent = 0
            return limits
        }())

    /// Throws ``RateLimitExceeded`` when `address` is over its limit.
    func checkSource(_ address: String) throws {
        try Self.check(perSource.acquire(address), limit: "source", "too many enrolment requests from \(address)")
    }

    /// Throws ``RateLimitExceeded`` when the agent a `simpleenroll` CSR names is over its limit.
    func checkEnrollment(agent: String) throws {
        try Self.check(enrollmentsPerAgent.acquire(agent), limit: "agent", "too many enrolment requests for this agent")
    }

    /// Throws ``RateLimitExceeded`` when the authenticated agent renews too often.
    func checkRenewal(agent: String) throws {
        try Self.check(renewalsPerAgent.acquire(agent), limit: "renewal", "too many renewals for this agent")
    }

    private static func check(_ decision: RateDecision, limit: String, _ reason: String) throws {
        if case .limited(let seconds) = decision {
            throw RateLimitExceeded(limit: limit, reason: reason, retryAfterSeconds: seconds)
        }
    }
}

/// A request over a rate limit: HTTP 429 with Retry-After (RFC 6585 §4).
public struct RateLimitExceeded: Error, Sendable, Equatable, CustomStringConvertible {
    /// Which limit refused: `source`, `agent` or `renewal` (the metric label).
    public let limit: String
    public let reason: String
    public let retryAfterSeconds: Int
    public var description: String { "\(reason); retry after \(retryAfterSeconds) s" }
}
