import Foundation

/// How long a root CA lives (docs/profiles.md#root-ca): a number of calendar years from the moment
/// it is signed, or an explicit notAfter date that witnesses can read in the plan.
///
/// Calendar years, not multiples of 365 days: a 20-year root signed on 2026-12-06 ends on
/// 2046-12-06 (365-day years would end it on 2046-12-01, five leap days early). A root signed on
/// 29 February ends on 28 February when the final year is not a leap year (Foundation's
/// Gregorian calendar clamps the day). All dates are UTC, as X.509 times are (RFC 5280 §4.1.2.5).
public enum RootValidity: Sendable, Hashable {
    /// This many calendar years after the signing instant.
    case years(Int)
    /// Until this instant (a date in the plan means its 00:00:00 UTC).
    case until(Date)

    /// The root profile's bounds in calendar years (docs/profiles.md#root-ca).
    public static let allowedYears = 5...30

    /// The UTC Gregorian calendar the years are counted in.
    public static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0)!
        return calendar
    }

    /// The notAfter of a root signed at `now`, truncated to whole seconds (X.509 resolution).
    public func notAfter(signedAt now: Date) -> Date {
        let end: Date
        switch self {
        case .years(let years): end = Self.calendar.date(byAdding: .year, value: years, to: now) ?? now
        case .until(let date): end = date
        }
        return Date(timeIntervalSince1970: end.timeIntervalSince1970.rounded(.down))
    }

    /// Refuses a validity outside ``allowedYears`` for a root signed at `now`. An explicit date
    /// is compared by calendar day, so `not-after` five years on to the day is accepted.
    public func check(signedAt now: Date) throws {
        let calendar = Self.calendar
        switch self {
        case .years(let years):
            guard Self.allowedYears.contains(years) else {
                throw PKIError.invalidParameter(
                    "a root CA lives \(Self.allowedYears.lowerBound)–\(Self.allowedYears.upperBound) years (docs/profiles.md#root-ca), not \(years)")
            }
        case .until(let date):
            let today = calendar.startOfDay(for: now)
            guard let earliest = calendar.date(byAdding: .year, value: Self.allowedYears.lowerBound, to: today),
                let latest = calendar.date(byAdding: .year, value: Self.allowedYears.upperBound, to: today),
                date >= earliest, calendar.startOfDay(for: date) <= latest
            else {
                let format = ISO8601DateFormatter()
                format.formatOptions = [.withFullDate]
                throw PKIError.invalidParameter(
                    "a root CA lives \(Self.allowedYears.lowerBound)–\(Self.allowedYears.upperBound) years (docs/profiles.md#root-ca): "
                        + "a root signed on \(format.string(from: now)) must end between \(format.string(from: calendar.date(byAdding: .year, value: 5, to: today) ?? now)) "
                        + "and \(format.string(from: calendar.date(byAdding: .year, value: 30, to: today) ?? now)), not \(format.string(from: date))")
            }
        }
    }
}
