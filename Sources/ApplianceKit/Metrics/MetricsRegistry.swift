import Foundation
import NIOConcurrencyHelpers

/// A small in-process metrics registry rendering the Prometheus text exposition format (0.0.4).
/// Counters, gauges and histograms keyed by name + sorted labels; thread-safe.
public final class MetricsRegistry: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    struct Series: Sendable {
        var value: Double = 0
        var buckets: [Double] = []
        var counts: [Int] = []
        var sum: Double = 0
        var count: Int = 0

        mutating func record(_ value: Double) {
            for (index, bound) in buckets.enumerated() where value <= bound { counts[index] += 1 }
            sum += value
            count += 1
        }
    }

    /// A series' storage, shared by the family's dictionary and any ``Handle`` to it; read and
    /// written only under the registry's lock.
    final class SeriesBox: @unchecked Sendable {
        var series: Series
        init(_ series: Series) { self.series = series }
    }

    struct Family: Sendable {
        var kind: Kind
        var help: String
        var buckets: [Double]
        var series: [String: SeriesBox] = [:]

        /// The series for `key`, created empty at its first use.
        mutating func box(_ key: String) -> SeriesBox {
            if let box = series[key] { return box }
            let box = SeriesBox(Series(buckets: buckets, counts: Array(repeating: 0, count: buckets.count)))
            series[key] = box
            return box
        }
    }

    /// One series resolved once (``handle(_:labels:)``), for a path that samples it on every
    /// request: updating it through the handle hashes no name and builds no label text.
    public struct Handle: Sendable {
        let box: SeriesBox
    }

    private let families = NIOLockedValueBox<[String: Family]>([:])

    public init() {}

    /// Declares a metric so it is rendered (with HELP/TYPE) even before its first sample.
    public func declare(_ name: String, kind: Kind, help: String, buckets: [Double] = []) {
        families.withLockedValue { families in
            if families[name] == nil { families[name] = Family(kind: kind, help: help, buckets: buckets) }
        }
    }

    public func increment(_ name: String, labels: [String: String] = [:], by amount: Double = 1) {
        update(name, labels) { $0.value += amount }
    }

    public func set(_ name: String, labels: [String: String] = [:], to value: Double) {
        update(name, labels) { $0.value = value }
    }

    public func observe(_ name: String, labels: [String: String] = [:], _ value: Double) {
        update(name, labels) { $0.record(value) }
    }

    /// The series `name` with `labels`, created (at zero) if it has no sample yet; nil when
    /// `name` was never declared.
    public func handle(_ name: String, labels: [String: String] = [:]) -> Handle? {
        let key = Self.labelText(labels)
        return families.withLockedValue { families in
            guard families[name] != nil else { return nil }
            return Handle(box: families[name]!.box(key))
        }
    }

    /// Adds `amount` to the counter `handle` names.
    public func increment(_ handle: Handle, by amount: Double = 1) {
        families.withLockedValue { _ in handle.box.series.value += amount }
    }

    /// Records `value` in the histogram `handle` names.
    public func observe(_ handle: Handle, _ value: Double) {
        families.withLockedValue { _ in handle.box.series.record(value) }
    }

    /// The current value of a counter or gauge series (0 when never set).
    public func value(_ name: String, labels: [String: String] = [:]) -> Double {
        let key = Self.labelText(labels)
        return families.withLockedValue { $0[name]?.series[key]?.series.value ?? 0 }
    }

    private func update(_ name: String, _ labels: [String: String], _ change: (inout Series) -> Void) {
        let key = Self.labelText(labels)
        families.withLockedValue { families in
            guard families[name] != nil else { return }
            change(&families[name]!.box(key).series)
        }
    }

    /// The series key: `name="value"` pairs sorted by name, values escaped as the exposition
    /// format requires (backslash, double quote, line feed). Computed on every sample, so it
    /// avoids Foundation: the hot paths count each answer (docs/performance.md).
    static func labelText(_ labels: [String: String]) -> String {
        switch labels.count {
        case 0:
            return ""
        case 1:
            let (key, value) = labels.first!
            return pair(key, value)
        default:
            return labels.sorted { $0.key < $1.key }.map { pair($0.key, $0.value) }.joined(separator: ",")
        }
    }

    private static func pair(_ key: String, _ value: String) -> String {
        "\(key)=\"\(escaped(value))\""
    }

    private static func escaped(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else {
            return value
        }
        var out = ""
        out.reserveCapacity(value.utf8.count + 8)
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// The exposition text.
    public func render() -> String {
        // The series' values are copied under the lock; the text is built outside it.
        let snapshot = families.withLockedValue { families in
            families.map { name, family in (name, family, family.series.map { ($0.key, $0.value.series) }) }
        }
        var out = ""
        for (name, family, series) in snapshot.sorted(by: { $0.0 < $1.0 }) {
            out += "# HELP \(name) \(family.help)\n# TYPE \(name) \(family.kind.rawValue)\n"
            for (labels, series) in series.sorted(by: { $0.0 < $1.0 }) {
                switch family.kind {
                case .counter, .gauge:
                    out += "\(name)\(labels.isEmpty ? "" : "{\(labels)}") \(Self.number(series.value))\n"
                case .histogram:
                    let prefix = labels.isEmpty ? "" : labels + ","
                    for (bound, count) in zip(series.buckets, series.counts) {
                        out += "\(name)_bucket{\(prefix)le=\"\(Self.number(bound))\"} \(count)\n"
                    }
                    out += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(series.count)\n"
                    out += "\(name)_sum\(labels.isEmpty ? "" : "{\(labels)}") \(Self.number(series.sum))\n"
                    out += "\(name)_count\(labels.isEmpty ? "" : "{\(labels)}") \(series.count)\n"
                }
            }
        }
        return out
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
