import Foundation
import TestSupport
import Testing

/// Issue 6: the alerting rules shipped in Runbooks/prometheus are valid and behave as intended.
@Suite("Prometheus alert rules")
struct PrometheusRulesTests {
    static let directory = RunbookExecutionTests.runbooksDirectory.appendingPathComponent("prometheus")

    @Test("promtool accepts the rules")
    func check() throws {
        let result = try ExternalTool("promtool").run(["check", "rules", Self.directory.appendingPathComponent("alerts.yml").path])
        #expect(result.succeeded, "\(result.output)")
        #expect(result.output.contains("SUCCESS: 10 rules found"))
    }

    @Test(
        "promtool unit tests: expiry 30/7/1 days, validation bursts, CRL publication failing, CRL nextUpdate near (per issuer, before it lapses), entries without their reason, expiring root CRL, HSM down fire as specified"
    )
    func unitTests() throws {
        let result = try ExternalTool("promtool").run(["test", "rules", "alerts_test.yml"], currentDirectory: Self.directory.path)
        #expect(result.succeeded, "\(result.output)")
    }
}
