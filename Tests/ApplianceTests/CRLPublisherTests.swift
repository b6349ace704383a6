import ApplianceKit
import Foundation
import PKICore
import Registration
import TestSupport
import Testing
import X509

@Suite("CRL publisher: revocation reaches the intermediate CRL on disk")
struct CRLPublisherTests {
    @Test("a revocation shows up in the CRL openssl reads, with its reason and a higher CRL number, and the old CRL goes to history")
    func revocationPublished() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let publisher = try h.publisher()
        let leaf = try await h.issue("web-1")
        try await publisher.publishNow()
        let first = try #require(await publisher.servedCRLNumber(.intermediate))
        let firstBytes = try #require(await publisher.currentCRL(issuer: .intermediate))

        try await h.revokeInStore(leaf, reason: .keyCompromise)
        await publisher.revocationOccurred()
        await publisher.waitUntilIdle()

        let second = try #require(await publisher.servedCRLNumber(.intermediate))
        #expect(second > first)
        let openssl = try ExternalTool("openssl")
        let result = try openssl.run([
            "crl", "-inform", "DER", "-in", h.intermediateCRLPath, "-CAfile", h.directory.file("chain.pem"), "-noout", "-text",
        ])
        #expect(result.succeeded, "\(result.output)")
        #expect(result.output.contains("verify OK"))
        #expect(result.stdout.contains("Serial Number: \(CAHarness.opensslSerial(leaf))"))
        #expect(result.stdout.contains("Key Compromise"))
        #expect(result.stdout.contains("X509v3 CRL Number: \n                \(second)"))
        // The served bytes are the file's bytes, and the replaced CRL is kept in history.
        let onDisk = try [UInt8](Data(contentsOf: URL(fileURLWithPath: h.intermediateCRLPath)))
        #expect(try await publisher.currentCRL(issuer: .intermediate) == onDisk)
        let history = try [UInt8](Data(contentsOf: URL(fileURLWithPath: h.state.path("crl", "history", "intermediate-\(first).crl"))))
        #expect(history == firstBytes)
    }

    @Test("openssl verify -crl_check rejects the revoked leaf and accepts the other one")
    func opensslRejectsRevokedLeaf() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let publisher = try h.publisher()
        let revoked = try await h.issue("revoked")
        let kept = try await h.issue("kept")
        try await h.revokeInStore(revoked, reason: .superseded)
        await publisher.revocationOccurred()
        await publisher.waitUntilIdle()

        let openssl = try ExternalTool("openssl")
        let crlPEM = h.directory.file("intermediate-crl.pem")
        let convert = try openssl.run(["crl", "-inform", "DER", "-in", h.intermediateCRLPath, "-out", crlPEM])
        #expect(convert.succeeded, "\(convert.output)")
        let chain = h.directory.file("chain.pem")
        let bad = try openssl.run(["verify", "-crl_check", "-CAfile", chain, "-CRLfile", crlPEM, h.writeLeaf(revoked, name: "revoked")])
        #expect(!bad.succeeded)
        #expect(bad.output.contains("certificate revoked"), "\(bad.output)")
        let good = try openssl.run(["verify", "-crl_check", "-CAfile", chain, "-CRLfile", crlPEM, h.writeLeaf(kept, name: "kept")])
        #expect(good.succeeded, "\(good.output)")
    }

    @Test("CRL numbers keep increasing across a restart and when the clock steps backwards; the old CRL is served at once")
    func numbersSurviveRestartAndClockStep() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let first = try h.publisher()
        try await first.publishNow()
        try await first.publishNow()
        let beforeRestart = try #require(await first.servedCRLNumber(.intermediate))
        let servedBefore = try #require(await first.currentCRL(issuer: .intermediate))

        // "Restart": a new publisher on the same state directory and store, clock two days back.
        let steppedBack = FixedClock(h.pki.clock.now().addingTimeInterval(-2 * 86_400))
        let second = try h.publisher(clock: steppedBack)
        #expect(try await second.currentCRL(issuer: .intermediate) == servedBefore)
        try await second.publishNow()
        let afterRestart = try #require(await second.servedCRLNumber(.intermediate))
        #expect(afterRestart > beforeRestart)
        let crl = try CertificateRevocationList(derEncoded: #require(await second.currentCRL(issuer: .intermediate)))
        let previous = try CertificateRevocationList(derEncoded: servedBefore)
        #expect(crl.tbsCertList.thisUpdate >= previous.tbsCertList.thisUpdate)
        #expect(crl.tbsCertList.crlNumber == afterRestart)
        #expect(FileManager.default.fileExists(atPath: h.state.path("crl", "history", "intermediate-\(beforeRestart).crl")))
    }

    @Test("a burst of revocations is coalesced into at most two generations and every serial is on the CRL")
    func burstIsCoalesced() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let publisher = try h.publisher()
        try await publisher.publishNow()
        let before = try #require(await publisher.servedCRLNumber(.intermediate)?.uint64Value)
        var leaves: [TestPKI.Leaf] = []
        for index in 0..<12 { leaves.append(try await h.issue("burst-\(index)")) }
        for leaf in leaves { try await h.revokeInStore(leaf) }
        // The burst: the first report starts a generation, the others arrive while it runs.
        for _ in leaves { await publisher.revocationOccurred() }
        await publisher.waitUntilIdle()
        let after = try #require(await publisher.servedCRLNumber(.intermediate)?.uint64Value)
        #expect(after > before && after <= before + 2)
        let crl = try CertificateRevocationList(derEncoded: #require(await publisher.currentCRL(issuer: .intermediate)))
        let listed = Set(crl.tbsCertList.revokedCertificates.map(\.serialNumber))
        #expect(listed == Set(leaves.map(\.certificate.serialNumber)))
        #expect(h.metrics.registry.render().contains("rootkeeper_revocation_publish_latency_seconds_count 12"))
        #expect(h.metrics.registry.value("rootkeeper_crl_entries", labels: ["issuer": h.issuerSKI]) == 12)
        #expect(h.metrics.registry.value("rootkeeper_crl_size_bytes", labels: ["issuer": h.issuerSKI]) == Double(crl.derEncoded.count))
    }

    @Test("entries of certificates that have expired are pruned from the next CRL")
    func expiredEntriesArePruned() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let leaf = try await h.issue("short")
        try await h.revokeInStore(leaf)
        let now = try h.publisher()
        try await now.publishNow()
        let current = try CertificateRevocationList(derEncoded: #require(await now.currentCRL(issuer: .intermediate)))
        #expect(current.tbsCertList.revokedCertificates.map(\.serialNumber) == [leaf.certificate.serialNumber])

        let later = FixedClock(leaf.certificate.notValidAfter.addingTimeInterval(3600))
        let publisher = try h.publisher(clock: later)
        try await publisher.publishNow()
        let crl = try CertificateRevocationList(derEncoded: #require(await publisher.currentCRL(issuer: .intermediate)))
        #expect(crl.tbsCertList.revokedCertificates.isEmpty)
        #expect(crl.tbsCertList.crlNumber > current.tbsCertList.crlNumber)
    }

    @Test("an unwritable CRL directory keeps the old CRL served, reports degraded with the reason, and recovers")
    func unwritableDirectoryDegrades() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let publisher = try h.publisher()
        try await publisher.publishNow()
        let good = try #require(await publisher.currentCRL(issuer: .intermediate))
        let leaf = try await h.issue("blocked")
        try await h.revokeInStore(leaf)

        // Tests run as root, so permissions do not stop writes: replace the directory by a file.
        let crlDirectory = h.state.crlDirectory
        try FileManager.default.moveItem(atPath: crlDirectory, toPath: crlDirectory + ".saved")
        try Data("not a directory".utf8).write(to: URL(fileURLWithPath: crlDirectory))
        let failed = await #expect(throws: ApplianceError.self) { try await publisher.publishNow() }
        #expect(
            failed?.code == .unavailable && failed?.reason.hasPrefix("intermediate CRL publication failed (CRL 1 stays served)") == true
                && failed?.reason.contains("Not a directory") == true, "\(String(describing: failed))")
        #expect(try await publisher.currentCRL(issuer: .intermediate) == good)
        guard case .degraded(let reason) = await publisher.health else {
            Issue.record("publisher should be degraded")
            return
        }
        #expect(reason.contains("stays served"))
        #expect(h.metrics.registry.value("rootkeeper_crl_publish_failures_total", labels: ["issuer": h.issuerSKI]) == 1)
        #expect(h.metrics.registry.value("rootkeeper_crl_publication_failing", labels: ["issuer": h.issuerSKI]) == 1)

        try FileManager.default.removeItem(atPath: crlDirectory)
        try FileManager.default.moveItem(atPath: crlDirectory + ".saved", toPath: crlDirectory)
        try await publisher.publishNow()
        #expect(await publisher.health == .healthy)
        #expect(h.metrics.registry.value("rootkeeper_crl_publication_failing", labels: ["issuer": h.issuerSKI]) == 0)
        let recovered = try CertificateRevocationList(derEncoded: #require(await publisher.currentCRL(issuer: .intermediate)))
        #expect(recovered.tbsCertList.revokedCertificates.map(\.serialNumber) == [leaf.certificate.serialNumber])
    }
}
