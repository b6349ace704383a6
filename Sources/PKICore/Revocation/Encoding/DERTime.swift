import Foundation

/// X.509 time encoding for CRLs and OCSP.
///
/// RFC 5280 §5.1.2.4 (thisUpdate, nextUpdate, revocationDate): dates through the year 2049 are
/// encoded as UTCTime `YYMMDDHHMMSSZ`, dates in 2050 or later as GeneralizedTime
/// `YYYYMMDDHHMMSSZ`; seconds are always present and fractions are not. RFC 6960 uses
/// GeneralizedTime for every OCSP time. Dates are truncated to whole seconds.
///
/// The civil-date arithmetic is done by hand (days-from-civil, H. Hinnant) because `Calendar`
/// is far too slow for a million CRL entries.
enum DERTime {
    /// Whole seconds since 1970 for `date`, rounded down.
    @inline(__always)
    static func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }

    /// First instant that needs GeneralizedTime: 2050-01-01T00:00:00Z.
    static let generalizedTimeThreshold: Int64 = 2_524_608_000

    /// Encoded TLV size of an RFC 5280 Time for `seconds`.
    @inline(__always)
    static func x509TimeSize(_ seconds: Int64) -> Int {
        seconds < generalizedTimeThreshold && seconds >= -631_152_000 ? 15 : 17
    }

    /// Appends an RFC 5280 `Time` (UTCTime through 2049, GeneralizedTime after).
    @inline(__always)
    static func appendX509Time(_ seconds: Int64, to out: inout [UInt8]) {
        // UTCTime covers 1950...2049 (RFC 5280 §4.1.2.5.1); -631152000 is 1950-01-01.
        if seconds < generalizedTimeThreshold && seconds >= -631_152_000 {
            append(seconds, generalized: false, to: &out)
        } else {
            append(seconds, generalized: true, to: &out)
        }
    }

    /// Appends a GeneralizedTime (RFC 6960 times, RFC 5280 invalidityDate).
    static func appendGeneralizedTime(_ seconds: Int64, to out: inout [UInt8]) {
        append(seconds, generalized: true, to: &out)
    }

    @inline(__always)
    private static func append(_ seconds: Int64, generalized: Bool, to out: inout [UInt8]) {
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = civil(fromDays: days)
        @inline(__always) func two(_ v: Int64) {
            out.append(0x30 &+ UInt8(truncatingIfNeeded: v / 10))
            out.append(0x30 &+ UInt8(truncatingIfNeeded: v % 10))
        }
        if generalized {
            out.append(DERTag.generalizedTime)
            out.append(15)
            two(year / 100)
            two(year % 100)
        } else {
            out.append(DERTag.utcTime)
            out.append(13)
            two(year % 100)
        }
        two(month)
        two(day)
        two(secondOfDay / 3600)
        two(secondOfDay / 60 % 60)
        two(secondOfDay % 60)
        out.append(0x5A)  // "Z"
    }

    /// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
    @inline(__always)
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// (year, month, day) to days since 1970-01-01.
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Decodes a UTCTime (tag 0x17) or GeneralizedTime (tag 0x18) element in the restricted forms
    /// RFC 5280 §4.1.2.5 requires (seconds present, "Z", no fractions).
    static func decode(_ element: CompactDERReader.Element, _ what: @autoclosure () -> String) throws -> Date {
        let text = Array(element.content)
        let generalized: Bool
        switch element.tag {
        case DERTag.utcTime: generalized = false
        case DERTag.generalizedTime: generalized = true
        default: throw PKIError.malformed("\(what()): expected UTCTime or GeneralizedTime")
        }
        let digitCount = generalized ? 14 : 12
        guard text.count == digitCount + 1, text.last == 0x5A,
            text.dropLast().allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else { throw PKIError.malformed("\(what()): time is not in the DER form YYMMDDHHMMSSZ / YYYYMMDDHHMMSSZ") }
        var index = 0
        func two() -> Int64 {
            defer { index += 2 }
            return Int64(text[index] - 0x30) * 10 + Int64(text[index + 1] - 0x30)
        }
        var year: Int64
        if generalized {
            year = two() * 100
            year += two()
        } else {
            let yy = two()
            year = yy >= 50 ? 1900 + yy : 2000 + yy
        }
        let month = two()
        let day = two()
        let hour = two()
        let minute = two()
        let second = two()
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60 else {
            throw PKIError.malformed("\(what()): time field out of range")
        }
        let days = days(fromCivil: year, month, day)
        guard civil(fromDays: days) == (year, month, day) else {
            throw PKIError.malformed("\(what()): no such calendar day")
        }
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + hour * 3600 + minute * 60 + second))
    }
}
