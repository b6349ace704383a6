import Foundation
import PKICore
import TestSupport
import Testing
import X509

@testable import ApplianceKit

/// Threat model T11 (CRL lapses): the scheduled refresh and the retry after a failed publication,
/// driven by an injected clock and checked from outside — `openssl crl` on the published file and
/// `/health` over HTTP with curl. A publisher that never refreshes, or never retries, fails here.
@Suite("CRL publisher schedule: refresh before half-life, retry after a failure")
struct CRLPublisherScheduleTests {
    /// One hour of validity, refreshed at half of it (1800 s).
    static func configuration(retry: Duration = .seconds(5), poll: Duration = .seconds(60)) throws -> CRLPublisher.Configuration {
        try CRLPublisher.Configuration(validity: 3600, refreshFraction: 0.5, retryInterval: retry, pollInterval: poll)
    }

    @Test(
        "the tick regenerates the CRL once half its validity has passed and not a second before; openssl reads the new thisUpdate, nextUpdate and number"
    )
    func tickRefreshesAtHalfLife() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let start = h.pki.clock.now()
        let clock = FixedClock(start)
        let publisher = try h.publisher(clock: clock, configuration: Self.configuration())
        try await publisher.publishNow()
        let first = try await PublishedCRL.read(h)
        #expect(first.number == 1)
        #expect(first.thisUpdate == Self.whole(start))
        #expect(first.nextUpdate == Self.whole(start) + 3600)

        clock.advance(by: 1799)
        #expect(await publisher.isDue() == false)
        await publisher.tick()
        await publisher.waitUntilIdle()
        #expect(try await PublishedCRL.read(h) == first, "regenerated before half of the validity had passed")

        clock.advance(by: 1)
        #expect(await publisher.isDue())
        await publisher.tick()
        await publisher.waitUntilIdle()
        let second = try await PublishedCRL.read(h)
        #expect(second.number == 2)
        #expect(second.thisUpdate == Self.whole(start) + 1800)
        #expect(second.nextUpdate == Self.whole(start) + 1800 + 3600)
        // The replaced CRL is kept in history, byte for byte.
        #expect(FileManager.default.contents(atPath: h.state.path("crl", "history", "intermediate-1.crl")) == first.der)
        #expect(await publisher.health == .healthy)
    }

    @Test("the running service refreshes on its own when the clock passes half-life (the run loop ticks)")
    func runLoopRefreshes() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let start = h.pki.clock.now()
        let clock = FixedClock(start)
        let publisher = try h.publisher(clock: clock, configuration: Self.configuration(poll: .milliseconds(20)))
        let service = Task { try await publisher.run() }
        defer { service.cancel() }
        try await Self.poll("the service did not publish its first CRL") { await publisher.servedCRLNumber(.intermediate) != nil }
        // Several polls pass with the clock still before half-life: nothing is regenerated.
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await PublishedCRL.read(h).number == 1)

        clock.advance(by: 1800)
        try await Self.poll("the service did not refresh the CRL after half its validity") {
            await publisher.servedCRLNumber(.intermediate) == CRLNumber(2)
        }
        let refreshed = try await PublishedCRL.read(h)
        #expect(refreshed.number == 2)
        #expect(refreshed.thisUpdate == Self.whole(start) + 1800)
        #expect(refreshed.nextUpdate == Self.whole(start) + 5400)
        service.cancel()
        _ = await service.result
    }

    @Test(
        "an unwritable crl/ degrades /health with the reason and shortens the wake to the retry interval; the next tick after repair publishes and /health recovers"
    )
    func failedPublicationIsRetriedAndHealthRecovers() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let start = h.pki.clock.now()
        let clock = FixedClock(start)
        let publisher = try h.publisher(clock: clock, configuration: Self.configuration(retry: .seconds(5), poll: .seconds(60)))
        try await publisher.publishNow()
        let first = try await PublishedCRL.read(h)
        #expect(await publisher.nextWake() == .seconds(60))

        try await RunningAppliance.with(health: { await publisher.health }) { app in
            let healthy = try await Curl.run(["\(app.httpURL)/health"])
            #expect(healthy.status == 200)
            #expect(healthy.body == "ok\n")

            // Break crl/: a regular file where the directory was (root ignores permission bits, so
            // chmod would not do). Every write under crl/ now fails with ENOTDIR.
            let crlDirectory = h.state.path("crl")
            let away = h.state.path("crl.away")
            try FileManager.default.moveItem(atPath: crlDirectory, toPath: away)
            try Data("not a directory".utf8).write(to: URL(fileURLWithPath: crlDirectory))

            clock.advance(by: 1800)
            await publisher.tick()
            await publisher.waitUntilIdle()
            guard case .degraded(let reason) = await publisher.health else {
                Issue.record("the publisher stayed healthy although crl/ cannot be written")
                return
            }
            #expect(reason.hasPrefix("intermediate CRL publication failed (CRL 1 stays served): "), "\(reason)")
            #expect(await publisher.nextWake() == .seconds(5), "a failed publication must be retried sooner than the poll interval")
            #expect(h.metrics.registry.value("rootkeeper_crl_publication_failing", labels: ["issuer": h.issuerSKI]) == 1)
            #expect(h.metrics.registry.value("rootkeeper_crl_publish_failures_total", labels: ["issuer": h.issuerSKI]) == 1)
            // The last good CRL stays served.
            #expect(try await publisher.currentCRL(issuer: .intermediate) == [UInt8](first.der))
            let degraded = try await Curl.run(["\(app.httpURL)/health"])
            #expect(degraded.status == 503)
            #expect(degraded.body.hasPrefix("degraded: intermediate CRL publication failed (CRL 1 stays served): "), "\(degraded.body)")

            // Still broken: the retry fails again and says so.
            await publisher.tick()
            await publisher.waitUntilIdle()
            #expect(await publisher.health.isHealthy == false)
            #expect(h.metrics.registry.value("rootkeeper_crl_publish_failures_total", labels: ["issuer": h.issuerSKI]) == 2)

            // Repaired: the next tick (no clock movement needed) publishes a CRL with a higher number.
            try FileManager.default.removeItem(atPath: crlDirectory)
            try FileManager.default.moveItem(atPath: away, toPath: crlDirectory)
            await publisher.tick()
            await publisher.waitUntilIdle()
            #expect(await publisher.health == .healthy)
            #expect(await publisher.nextWake() == .seconds(60))
            #expect(h.metrics.registry.value("rootkeeper_crl_publication_failing", labels: ["issuer": h.issuerSKI]) == 0)
            let recovered = try await PublishedCRL.read(h)
            #expect(recovered.number > first.number)
            #expect(recovered.thisUpdate == Self.whole(start) + 1800)
            #expect(recovered.nextUpdate == Self.whole(start) + 5400)
            #expect(try await publisher.currentCRL(issuer: .intermediate) == [UInt8](recovered.der))
            let back = try await Curl.run(["\(app.httpURL)/health"])
            #expect(back.status == 200)
            #expect(back.body == "ok\n")
        }
    }

    /// CRL times are encoded to the second (RFC 5280 §5.1.2.4 UTCTime/GeneralizedTime without fractions).
    static func whole(_ date: Date) -> Date { Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)) }

    static func poll(_ failure: String, seconds: Double = 20, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure(failure)
    }
}

/// `crl/intermediate.crl` as openssl reads it: signature verified against the run-time chain,
/// lastUpdate (thisUpdate), nextUpdate and cRLNumber.
struct PublishedCRL: Equatable {
    let der: Data
    let number: Int
    let thisUpdate: Date
    let nextUpdate: Date

    static func read(_ h: CAHarness) async throws -> PublishedCRL {
        let path = h.intermediateCRLPath
        let der = try Data(contentsOf: URL(fileURLWithPath: path))
        let result = try await ExternalTool("openssl").runAsync([
            "crl", "-inform", "DER", "-in", path, "-CAfile", h.directory.file("chain.pem"),
            "-noout", "-lastupdate", "-nextupdate", "-crlnumber",
        ])
        guard result.stderr.contains("verify OK") else { throw TestFailure("openssl did not verify \(path): \(result.stderr)") }
        var fields: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard let numberText = fields["crlNumber"], let number = Int(numberText.replacingOccurrences(of: "0x", with: ""), radix: 16),
            let last = fields["lastUpdate"].flatMap(opensslDate), let next = fields["nextUpdate"].flatMap(opensslDate)
        else { throw TestFailure("unexpected openssl crl output: \(result.stdout)") }
        return PublishedCRL(der: der, number: number, thisUpdate: last, nextUpdate: next)
    }

    /// openssl's `Dec  6 04:56:37 2026 GMT`.
    static func opensslDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        return formatter.date(from: text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " "))
    }
}
