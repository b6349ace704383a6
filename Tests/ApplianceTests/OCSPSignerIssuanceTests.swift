import ApplianceKit
import Foundation
import PKICore
import Registration
import TestSupport
import Testing
import X509

/// The delegated OCSP responder certificate (RFC 6960 §4.2.2.2) is one of the appliance's own
/// certificates: it is reserved and recorded through the RA's unit of work like the server
/// certificate, so each one is audited (`certificate.reserved`, `certificate.issued`) and
/// announced once as `.issued` on the RA's event stream (docs/architecture.md#event-stream).
/// Before, it was written straight to the store: no audit entry, no event, not counted.
@Suite("OCSP responder certificate: issued through the RA, audited and announced once")
struct OCSPSignerIssuanceTests {
    /// The audit actions recorded for `serial`, in order (sqlite3 on the harness's database file).
    func auditActions(_ h: CAHarness, serial: String) throws -> [String] {
        try sql(h, "SELECT action FROM audit_events WHERE subject = '\(serial)' ORDER BY seq").split(separator: "\n").map(String.init)
    }

    func sql(_ h: CAHarness, _ query: String, readOnly: Bool = true) throws -> String {
        let result = try ExternalTool("sqlite3").run((readOnly ? ["-readonly"] : []) + [h.database, query])
        try #require(result.succeeded, "sqlite3 failed: \(result.output)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func issuedCount(_ h: CAHarness) -> Double {
        h.metrics.registry.value("rootkeeper_certificates_issued_total", labels: ["certificate_type": "ocspSigner"])
    }

    /// The `.issued` events of type `ocspSigner` the RA emitted so far.
    func announced(_ h: CAHarness) -> [CertificateRecord] {
        h.events.all.compactMap {
            guard case .issued(let record, _) = $0, record.type == .ocspSigner else { return nil }
            return record
        }
    }

    @Test("first issue and each rotation: one certificate.reserved and one certificate.issued audit entry, one .issued event, counted once")
    func rotationIsAuditedAndAnnouncedOnce() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let responder = try await h.responder()
        let first = try await responder.prepare()
        let firstSerial = IntermediateCA.serialHex(first)
        #expect(announced(h).map(\.serial) == [firstSerial], "\(h.events.all)")
        let firstDER = try PEMCodec.der(first)
        #expect(announced(h).first?.status == .issued && announced(h).first?.certificateDER == firstDER)
        #expect(try auditActions(h, serial: firstSerial) == ["certificate.reserved", "certificate.issued"])
        #expect(issuedCount(h) == 1)
        #expect(try sql(h, "SELECT status FROM certificates WHERE serial = '\(firstSerial)'") == "issued")

        // Still valid: no new certificate, nothing announced.
        _ = try await responder.prepare()
        #expect(announced(h).count == 1)

        // Within the renewal window: rotated, and the rotation is audited and announced once.
        h.pki.clock.set(first.notValidAfter.addingTimeInterval(-60))
        let second = try await responder.prepare()
        let secondSerial = IntermediateCA.serialHex(second)
        #expect(secondSerial != firstSerial)
        #expect(announced(h).map(\.serial) == [firstSerial, secondSerial], "\(h.events.all)")
        #expect(try auditActions(h, serial: secondSerial) == ["certificate.reserved", "certificate.issued"])
        #expect(issuedCount(h) == 2)
    }

    @Test("a store failure while recording the rotated certificate leaves no reserved row and no announcement; the next attempt issues")
    func storeFailureDuringRotation() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let responder = try await h.responder()
        let first = try await responder.prepare()
        h.pki.clock.set(first.notValidAfter.addingTimeInterval(-60))

        // A real write failure of the real SQLite store, only for recording an OCSP signer as issued.
        _ = try sql(
            h,
            """
            CREATE TRIGGER fail_ocsp_signer BEFORE UPDATE OF status ON certificates
            WHEN NEW.type = 'ocspSigner' AND NEW.status = 'issued'
            BEGIN SELECT RAISE(ABORT, 'injected write failure'); END;
            """, readOnly: false)
        await #expect(throws: (any Error).self) { try await responder.prepare() }
        #expect(announced(h).count == 1, "a failed recording must announce nothing: \(h.events.all)")
        #expect(issuedCount(h) == 1)
        #expect(try sql(h, "SELECT COUNT(*) FROM certificates WHERE status = 'reserved'") == "0", "nothing may stay half-recorded")
        // The reserved serial was released: revoked (never reused, RFC 5280 §5.2.3 keeps it on the CRL), and audited with its cause.
        let failed = try sql(h, "SELECT serial FROM certificates WHERE type = 'ocspSigner' AND serial != '\(IntermediateCA.serialHex(first))'")
        #expect(!failed.isEmpty && !failed.contains("\n"), "exactly one failed reservation: \(failed)")
        #expect(try sql(h, "SELECT status FROM certificates WHERE serial = '\(failed)'") == "revoked")
        #expect(try auditActions(h, serial: failed) == ["certificate.reserved", "certificate.reservation.released"])
        #expect(
            try sql(h, "SELECT details FROM audit_events WHERE subject = '\(failed)' AND action = 'certificate.reservation.released'")
                .contains("signing or recording failed"))
        // The old signer still answers meanwhile.
        #expect(await responder.responderCertificate == first)

        _ = try sql(h, "DROP TRIGGER fail_ocsp_signer", readOnly: false)
        let next = try await responder.prepare()
        let nextSerial = IntermediateCA.serialHex(next)
        #expect(nextSerial != IntermediateCA.serialHex(first) && nextSerial != failed)
        #expect(announced(h).map(\.serial) == [IntermediateCA.serialHex(first), nextSerial])
        #expect(try auditActions(h, serial: nextSerial) == ["certificate.reserved", "certificate.issued"])
        #expect(issuedCount(h) == 2)
    }

    @Test("a responder with no RA attached signs nothing and writes nothing (fail closed)")
    func unattachedResponderRefuses() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let responder = try OCSPResponder(
            issuerCertificate: h.pki.intermediate, privateKey: h.pki.intermediateKey, organization: h.pki.organization,
            responderName: "ocsp.example.test", store: h.store, configuration: OCSPResponder.Configuration(),
            clock: h.pki.clock, random: SystemRandomSource(), metrics: h.metrics, logger: .init(label: "test.ocsp"))
        do {
            _ = try await responder.prepare()
            Issue.record("an unattached responder issued a certificate")
        } catch let error as PKIError {
            #expect(error.reason.contains("no registration authority"), "\(error)")
        }
        #expect(try sql(h, "SELECT COUNT(*) FROM certificates") == "0")
        #expect(h.events.all.isEmpty)
    }
}
