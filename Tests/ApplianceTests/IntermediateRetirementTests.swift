import ApplianceKit
import CAStore
import Foundation
import PKICore
import Registration
import TestSupport
import Testing
import X509

/// Retirement of the old intermediate once its last certificate has expired (injected clock).
@Suite("Intermediate renewal: retirement", .serialized)
struct IntermediateRetirementTests {
    @Test("the old intermediate is retired once its last certificate has expired: out of cacerts, chain and trust, no CRL, key deleted, audited")
    func retirementAfterLastExpiry() async throws {
        let h = try await RenewalHarness.make()
        defer { h.remove() }
        let start = Date()
        let clock = FixedClock(start)
        let first = try await h.start(clock: clock)
        do {
            _ = try await first.enroll("web-01")
            await first.stop()
        } catch {
            await first.stop()
            throw error
        }
        let old = try IntermediateKeyLoader.loadCertificates(h.state).intermediate
        let oldID = try IssuerRoster.ski(old)
        let installed = try await h.renew("renewal")
        let new = installed.intermediate
        let root = h.setup.pki.root

        let serving = try await h.start(clock: clock)
        do {
            let runtime = serving.runtime
            #expect(runtime.ca.roster.retiring == [old])
            // Past the agent's 90 days but not the old server certificate's 365: not yet.
            clock.set(start.addingTimeInterval(100 * 86_400))
            #expect(try await runtime.retirement.retireDue().isEmpty)
            #expect(try await runtime.ca.caCertificates() == [new, old, root])

            clock.set(start.addingTimeInterval(400 * 86_400))
            #expect(try await runtime.retirement.retireDue() == [oldID])
            #expect(try await runtime.ca.caCertificates() == [new, root])
            #expect(runtime.ca.roster.retiring.isEmpty)
            #expect(runtime.ocspResponders.all.count == 1)
            #expect(try await runtime.crlPublishers.currentCRL(issuerID: oldID) == nil)
            try await runtime.crlPublishers.current.publishNow()
            #expect(try await runtime.crlPublishers.currentCRL(issuerID: try IssuerRoster.ski(new)) != nil)
            #expect(try PEMCodec.certificates(fromPEM: String(contentsOfFile: h.state.caChain, encoding: .utf8)) == [new, root])
            let status = try await serving.download("/crl/issuer/\(oldID).crl", to: h.directory.file("retired.crl"))
            #expect(status == 404)
        } catch {
            await serving.stop()
            throw error
        }
        await serving.stop()

        // On disk: moved to ca/retired/<ski>/ without its key; its last CRL kept.
        let files = FileManager.default
        #expect(files.fileExists(atPath: h.state.path("ca", "retired", oldID, "intermediate-ca.crt")))
        #expect(!files.fileExists(atPath: h.state.path("ca", "retired", oldID, "private", "intermediate-ca.key")))
        #expect(!files.fileExists(atPath: h.state.issuerDirectory(oldID)))
        #expect(files.fileExists(atPath: h.state.path("crl", "issuer-\(oldID).crl")))

        // Audited, with the expiry of the last certificate.
        let store = try SQLiteStore(path: h.state.path("db", "rootkeeper.sqlite"))
        let events = try await store.auditEvents(afterSeq: 0, limit: 10_000)
        let retired = try #require(events.first { $0.action == "intermediate.retired" })
        #expect(retired.subject == oldID)
        #expect(retired.detailsJSON.contains("last_certificate_expiry"))

        // A restart after retirement serves only the new intermediate.
        let restarted = try await h.start(clock: clock)
        let afterRestart = try await restarted.runtime.ca.caCertificates()
        await restarted.stop()
        #expect(afterRestart == [new, root])
    }

    @Test("a start after the last certificate expired retires the old intermediate before serving it")
    func retirementAtStart() async throws {
        let h = try await RenewalHarness.make()
        defer { h.remove() }
        let start = Date()
        let clock = FixedClock(start)
        let old = try IntermediateKeyLoader.loadCertificates(h.state).intermediate
        let installed = try await h.renew("renewal")
        clock.set(start.addingTimeInterval(30 * 86_400))
        // The old intermediate never issued anything here: nothing keeps it.
        let serving = try await h.start(clock: clock)
        let served = try await serving.runtime.ca.caCertificates()
        await serving.stop()
        #expect(served == [installed.intermediate, h.setup.pki.root])
        #expect(FileManager.default.fileExists(atPath: h.state.path("ca", "retired", try IssuerRoster.ski(old), "intermediate-ca.crt")))
    }
}
