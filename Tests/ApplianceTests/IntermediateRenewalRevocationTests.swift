import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing
import X509

/// CRLs and OCSP for both issuers during a renewal overlap, checked with openssl.
@Suite("Intermediate renewal: CRL and OCSP per issuer", .serialized)
struct IntermediateRenewalRevocationTests {
    @Test("a revoked certificate of each issuer is on that issuer's CRL (openssl crl / verify -crl_check) and OCSP says revoked/good per issuer")
    func revocationPerIssuer() async throws {
        let h = try await RenewalHarness.make()
        defer { h.remove() }
        let root = h.directory.file("root.pem")
        let first = try await h.start()
        let oldRevoked: AgentFiles
        let oldGood: AgentFiles
        let oldCRLNumber: CRLNumber
        do {
            oldRevoked = try await first.enroll("db-01")
            oldGood = try await first.enroll("app-01")
            try await first.runtime.crlPublisher.publishNow()
            oldCRLNumber = try #require(await first.runtime.crlPublisher.servedCRLNumber(.intermediate))
            await first.stop()
        } catch {
            await first.stop()
            throw error
        }
        let old = try IntermediateKeyLoader.loadCertificates(h.state).intermediate
        _ = try await h.renew("renewal")
        let new = try IntermediateKeyLoader.loadCertificates(h.state).intermediate
        let oldPEM = try h.write(old, "old-intermediate.pem")
        let newPEM = try h.write(new, "new-intermediate.pem")
        let oldID = try IssuerRoster.ski(old)
        let newID = try IssuerRoster.ski(new)

        let serving = try await h.start()
        do {
            let newRevoked = try await serving.enroll("new-01")
            let newGood = try await serving.enroll("new-02")
            let newVerify = try await ExternalTool("openssl").runAsync(["verify", "-CAfile", root, "-untrusted", newPEM, newGood.cert])
            #expect(newVerify.succeeded, "new issuance uses the new intermediate: \(newVerify.output)")
            for agent in [oldRevoked, newRevoked] {
                _ = try await serving.runtime.ca.revokeCertificate(
                    serial: IntermediateCA.serialHex(agent.certificate), reason: "keyCompromise", caller: RenewalHarness.admin)
            }
            for publisher in serving.runtime.crlPublishers.all { await publisher.waitUntilIdle() }

            // Each issuer's CRL, at its own URL, signed by it, listing its revoked certificate only.
            for (id, issuerPEM, revoked, good, label) in [
                (oldID, oldPEM, oldRevoked, oldGood, "old"), (newID, newPEM, newRevoked, newGood, "new"),
            ] {
                let der = h.directory.file("\(label).crl")
                let pem = h.directory.file("\(label).crl.pem")
                #expect(try await serving.download("/crl/issuer/\(id).crl", to: der) == 200)
                let crl = try await ExternalTool("openssl").runAsync([
                    "crl", "-inform", "DER", "-in", der, "-CAfile", issuerPEM, "-noout", "-crlnumber",
                ])
                #expect(crl.output.contains("verify OK"), "\(label) CRL: \(crl.output)")
                _ = try await ExternalTool("openssl").runAsync(["crl", "-inform", "DER", "-in", der, "-out", pem])
                let refused = try await ExternalTool("openssl").runAsync([
                    "verify", "-crl_check", "-CAfile", root, "-untrusted", issuerPEM, "-CRLfile", pem, revoked.cert,
                ])
                #expect(!refused.succeeded && refused.output.contains("certificate revoked"), "\(label): \(refused.output)")
                let accepted = try await ExternalTool("openssl").runAsync([
                    "verify", "-crl_check", "-CAfile", root, "-untrusted", issuerPEM, "-CRLfile", pem, good.cert,
                ])
                #expect(accepted.succeeded, "\(label): \(accepted.output)")

                // OCSP (RFC 6960), CertID matched against each issuer, signed by its own delegated responder.
                for (certificate, expected) in [(revoked.cert, "revoked"), (good.cert, "good")] {
                    let ocsp = try await ExternalTool("openssl").runAsync([
                        "ocsp", "-issuer", issuerPEM, "-cert", certificate, "-url", serving.httpURL + "/ocsp",
                        "-CAfile", root, "-verify_other", issuerPEM,
                    ])
                    #expect(ocsp.output.contains("Response verify OK"), "\(label) OCSP: \(ocsp.output)")
                    #expect(ocsp.output.contains("\(certificate): \(expected)"), "\(label) OCSP: \(ocsp.output)")
                }
            }

            // The old issuer's CRL numbers continue its own sequence across the renewal.
            let oldCRL = try CertificateRevocationList(derEncoded: Array(try Data(contentsOf: URL(fileURLWithPath: h.directory.file("old.crl")))))
            #expect(oldCRL.tbsCertList.crlNumber > oldCRLNumber)
            // /crl/intermediate.crl is the current (new) issuer's.
            let current = h.directory.file("current.crl")
            #expect(try await serving.download("/crl/intermediate.crl", to: current) == 200)
            #expect(try Data(contentsOf: URL(fileURLWithPath: current)) == Data(contentsOf: URL(fileURLWithPath: h.directory.file("new.crl"))))
            #expect(try await serving.download("/crl/issuer/\(String(repeating: "ab", count: 20)).crl", to: h.directory.file("none.crl")) == 404)

            // A revoked certificate of the old issuer is refused over mTLS.
            // Refused in the handshake (no HTTP status), counted below as a revocation.
            #expect(try await serving.mtlsStatus(oldRevoked, root: root) == 0)
            #expect(try await serving.mtlsStatus(oldGood, root: root) == 200)

            // CRL metrics carry the issuer label (docs/metrics.md#crl-metrics).
            let metrics = try await ExternalTool("curl").runAsync(["-sS", "--max-time", "20", serving.httpURL + "/metrics"])
            #expect(metrics.stdout.contains("rootkeeper_crl_entries{issuer=\"\(oldID)\"} 1"), "\(metrics.stdout)")
            #expect(metrics.stdout.contains("rootkeeper_crl_entries{issuer=\"\(newID)\"} 1"))
            // One nextUpdate series per issuer: the two publishers never write the same one.
            #expect(metrics.stdout.contains("rootkeeper_crl_next_update_seconds{issuer=\"\(oldID)\"}"))
            #expect(metrics.stdout.contains("rootkeeper_crl_next_update_seconds{issuer=\"\(newID)\"}"))
            #expect(!metrics.stdout.contains("issuer=\"intermediate\""), "\(metrics.stdout)")
            #expect(metrics.stdout.contains("rootkeeper_certificate_validation_failures_total{reason=\"revoked\"} 1"), "\(metrics.stdout)")
            #expect(metrics.stdout.contains("rootkeeper_crl_age_seconds{issuer=\"\(oldID)\"}"))
        } catch {
            await serving.stop()
            throw error
        }
        await serving.stop()
    }
}
