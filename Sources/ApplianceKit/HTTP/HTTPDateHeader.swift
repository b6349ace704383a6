#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The value of a response's `Date` header (RFC 9110 §6.6.1), in the IMF-fixdate form of
/// RFC 9110 §5.6.7 (`Sun, 06 Nov 1994 08:49:37 GMT`) that Hummingbird's own responses carry.
/// Formatted at most once per second per instance: handlers that answer without Hummingbird
/// (``OCSPFastPathHandler``, ``AgentStatusFastPathHandler``) keep one per connection.
struct HTTPDateHeader {
    private var second: time_t = -1
    private var text = ""

    /// The header value for the current second.
    mutating func value() -> String {
        let now = time(nil)
        if now != second {
            second = now
            text = Self.format(now)
        }
        return text
    }

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// IMF-fixdate of `seconds` since the epoch, in GMT.
    static func format(_ seconds: time_t) -> String {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(1900 + parts.tm_year) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
