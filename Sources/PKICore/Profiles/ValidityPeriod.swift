import Foundation

/// A certificate's notBefore/notAfter pair.
public struct ValidityPeriod: Sendable, Hashable {
    public var notBefore: Date
    public var notAfter: Date
    public init(notBefore: Date, notAfter: Date) {
        self.notBefore = notBefore
        self.notAfter = notAfter
    }
}

/// How long a profile's certificates live, with the bounds a configuration may choose within.
///
/// **Issuer end of life: we clamp.** A certificate never ends after its issuer (RFC 5280 §6.1.3
/// would reject it at that point anyway); when the configured duration would run past the
/// issuer's notAfter, notAfter becomes the issuer's notAfter. Issuance is refused when less than
/// ``minimum`` would remain, so an almost-expired intermediate cannot keep producing stubs.
/// notBefore is backdated by ``backdate`` (clock skew on agents) but never before the issuer's.
public struct ValidityPolicy: Sendable, Hashable {
    public static let day: TimeInterval = 86_400
    public static let year: TimeInterval = 365 * day

    /// Requested lifetime.
    public let duration: TimeInterval
    /// Shortest lifetime that may be issued after clamping.
    public let minimum: TimeInterval
    /// How far notBefore is moved into the past.
    public let backdate: TimeInterval

    /// Creates a policy, refusing durations outside `bounds` (the profile's safe range).
    public init(duration: TimeInterval, bounds: ClosedRange<TimeInterval>, minimum: TimeInterval? = nil, backdate: TimeInterval = 300) throws {
        guard bounds.contains(duration) else {
            throw PKIError.invalidParameter(
                "validity of \(Int(duration / Self.day)) days is outside \(Int(bounds.lowerBound / Self.day))–\(Int(bounds.upperBound / Self.day)) days"
            )
        }
        guard (0...3600).contains(backdate) else { throw PKIError.invalidParameter("backdate must be 0–3600 seconds") }
        self.duration = duration
        self.minimum = min(minimum ?? bounds.lowerBound, duration)
        self.backdate = backdate
    }

    /// The period for a certificate issued at `now` under `issuer`.
    public func period(now: Date, issuer: IssuerSummary) throws -> ValidityPeriod {
        var notBefore = now.addingTimeInterval(-backdate)
        var notAfter = now.addingTimeInterval(duration)
        if let issuerStart = issuer.notValidBefore, notBefore < issuerStart { notBefore = issuerStart }
        if let issuerEnd = issuer.notValidAfter {
            guard issuerEnd > now else { throw PKIError.invalidParameter("the issuer certificate expired at \(issuerEnd)") }
            if notAfter > issuerEnd { notAfter = issuerEnd }
        }
        // X.509 times have one-second resolution; truncate so the TBS round-trips exactly.
        notBefore = Date(timeIntervalSince1970: notBefore.timeIntervalSince1970.rounded(.down))
        notAfter = Date(timeIntervalSince1970: notAfter.timeIntervalSince1970.rounded(.down))
        guard notAfter.timeIntervalSince(now) >= minimum else {
            throw PKIError.invalidParameter(
                "only \(Int(notAfter.timeIntervalSince(now) / Self.day)) days remain before the issuer expires; minimum is \(Int(minimum / Self.day))"
            )
        }
        return ValidityPeriod(notBefore: notBefore, notAfter: notAfter)
    }
}
