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
    }

    struct Family: Sendable {
        var kind: Kind
        var help: String
        var buckets: [Double]
        var series: [String: Series] = [:]
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
        families.withLockedValue { families in
            guard var family = families[name] else { return }
            let key = Self.labelText(labels)
            var series = family.series[key] ?? Series(buckets: family.buckets, counts: Array(repeating: 0, count: family.buckets.count))
            for (index, bound) in series.buckets.enumerated() where value <= bound { series.counts[index] += 1 }
            series.sum += value
            series.count += 1
            family.series[key] = series
            families[name] = family
        }
    }

    /// The current value of a counter or gauge series (0 when never set).
    public func value(_ name: String, labels: [String: String] = [:]) -> Double {
        families.withLockedValue { $0[name]?.series[Self.labelText(labels)]?.value ?? 0 }
    }

    private func update(_ name: String, _ labels: [String: String], _ change: (inout Series) -> Void) {
        families.withLockedValue { families in
            guard var family = families[name] else { return }
            let key = Self.labelText(labels)
            var series = family.series[key] ?? Series()
            change(&series)
            family.series[key] = series
            families[name] = family
        }
    }

    static func labelText(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { key, value in
            let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
            return "\(key)=\"\(escaped)\""
        }.joined(separator: ",")
    }

    /// The exposition text.
    public func render() -> String {
        let snapshot = families.withLockedValue { $0 }
        var out = ""
        for (name, family) in snapshot.sorted(by: { $0.key < $1.key }) {
            out += "# HELP \(name) \(family.help)\n# TYPE \(name) \(family.kind.rawValue)\n"
            for (labels, series) in family.series.sorted(by: { $0.key < $1.key }) {
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
