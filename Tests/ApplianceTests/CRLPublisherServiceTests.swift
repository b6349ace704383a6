import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing
import X509

@Suite("CRL publisher as a service")
struct CRLPublisherServiceTests {
    @Test(
        "after a crash between the store update and the CRL write, starting the service publishes a fresh CRL with a higher number listing the revocation"
    )
    func startRepairsAMissedPublication() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let before = try h.publisher()
        try await before.publishNow()
        let oldNumber = try #require(await before.servedCRLNumber(.intermediate))
        let leaf = try await h.issue("missed")
        // The store records the revocation, then the process dies before the CRL is written.
        try await h.revokeInStore(leaf)

        let restarted = try h.publisher()
        let service = Task { try await restarted.run() }
        defer { service.cancel() }
        var number = await restarted.servedCRLNumber(.intermediate)
        for _ in 0..<100 where number == nil || number == oldNumber {
            try await Task.sleep(for: .milliseconds(50))
            number = await restarted.servedCRLNumber(.intermediate)
        }
        let newNumber = try #require(number)
        #expect(newNumber > oldNumber)
        let crl = try CertificateRevocationList(derEncoded: #require(await restarted.currentCRL(issuer: .intermediate)))
        #expect(crl.tbsCertList.revokedCertificates.map(\.serialNumber) == [leaf.certificate.serialNumber])
        #expect(crl.tbsCertList.nextUpdate.timeIntervalSince(crl.tbsCertList.thisUpdate) == 86_400)
        #expect(h.metrics.registry.value("rootkeeper_crl_age_seconds", labels: ["issuer": h.issuerSKI]) >= 0)
        service.cancel()
        // The service ends promptly when cancelled (graceful shutdown path).
        _ = await service.result
    }
}
