import ApplianceKit
import Foundation
import Testing

/// The registry's series keys and exposition text: label escaping (Prometheus text format 0.0.4),
/// label order, histograms, and that samples accumulate (the update paths mutate in place).
@Suite struct MetricsRegistryTests {
    @Test func labelValuesAreEscapedAndSortedByName() {
        let registry = MetricsRegistry()
        registry.declare("t_total", kind: .counter, help: "test")
        registry.increment("t_total", labels: ["z": "plain", "a": "back\\slash \"quoted\"\nline"])
        registry.increment("t_total", labels: ["z": "plain", "a": "back\\slash \"quoted\"\nline"], by: 2)
        registry.increment("t_total", labels: ["only": "one"])
        let text = registry.render()
        #expect(text.contains("t_total{a=\"back\\\\slash \\\"quoted\\\"\\nline\",z=\"plain\"} 3\n"))
        #expect(text.contains("t_total{only=\"one\"} 1\n"))
        #expect(registry.value("t_total", labels: ["a": "back\\slash \"quoted\"\nline", "z": "plain"]) == 3)
    }

    @Test func undeclaredNamesAreIgnored() {
        let registry = MetricsRegistry()
        registry.increment("missing_total")
        registry.observe("missing_seconds", 1)
        #expect(registry.render().isEmpty)
        #expect(registry.value("missing_total") == 0)
    }

    @Test func histogramsCountEveryBucketAtOrAboveTheSample() {
        let registry = MetricsRegistry()
        registry.declare("h_seconds", kind: .histogram, help: "test", buckets: [0.1, 1])
        registry.observe("h_seconds", 0.0625)
        registry.observe("h_seconds", 0.5)
        registry.observe("h_seconds", 4)
        registry.observe("h_seconds", labels: ["route": "ocsp"], 0.5)
        let text = registry.render()
        #expect(text.contains("h_seconds_bucket{le=\"0.1\"} 1\n"))
        #expect(text.contains("h_seconds_bucket{le=\"1\"} 2\n"))
        #expect(text.contains("h_seconds_bucket{le=\"+Inf\"} 3\n"))
        #expect(text.contains("h_seconds_sum 4.5625\n"))
        #expect(text.contains("h_seconds_count 3\n"))
        #expect(text.contains("h_seconds_bucket{route=\"ocsp\",le=\"1\"} 1\n"))
        #expect(text.contains("h_seconds_count{route=\"ocsp\"} 1\n"))
    }

    @Test func concurrentIncrementsAreAllCounted() async {
        let registry = MetricsRegistry()
        registry.declare("c_total", kind: .counter, help: "test")
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for _ in 0..<1_000 { registry.increment("c_total", labels: ["w": "\(worker % 2)"]) }
                }
            }
        }
        #expect(registry.value("c_total", labels: ["w": "0"]) == 4_000)
        #expect(registry.value("c_total", labels: ["w": "1"]) == 4_000)
    }
}
