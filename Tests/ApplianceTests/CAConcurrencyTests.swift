import ApplianceKit
import Foundation
import PKICore
import Registration
import TestSupport
import Testing
import X509

@Suite("Intermediate CA under concurrent enrolment")
struct CAConcurrencyTests {
    @Test("50 concurrent enrolments produce 50 distinct serials, every returned certificate recorded in the SQLite file")
    func fiftyConcurrent() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        var requests: [(csrDER: [UInt8], token: String, source: String)] = []
        for index in 0..<50 {
            let hostname = "host-\(index)"
            let token = try await harness.ca.createToken(hostname: hostname, caller: CAHarness.admin)
            requests.append((try CAHarness.agentCSR(hostname: hostname).der, token, "10.2.0.\(index)"))
        }
        let ca = harness.ca
        let certificates = try await withThrowingTaskGroup(of: Certificate?.self) { group in
            for request in requests {
                group.addTask {
                    if case .issued(let certificate, _) = try await ca.enroll(csrDER: request.csrDER, token: request.token, source: request.source) {
                        return certificate
                    }
                    return nil
                }
            }
            var issued: [Certificate] = []
            for try await certificate in group { if let certificate { issued.append(certificate) } }
            return issued
        }
        #expect(certificates.count == 50)
        let serials = Set(certificates.map(IntermediateCA.serialHex))
        #expect(serials.count == 50)
        #expect(harness.metrics.registry.value("rootkeeper_certificates_issued_total", labels: ["certificate_type": "agent"]) == 50)

        // Crash safety (docs/conventions.md#signing-path): every certificate handed out is in the store, as issued, with
        // the same bytes — checked through the store and, independently, with sqlite3.
        for certificate in certificates {
            let record = try await harness.store.certificate(serial: IntermediateCA.serialHex(certificate))
            #expect(record?.status == .issued)
            #expect(record?.certificateDER == (try PEMCodec.der(certificate)))
        }
        let database = harness.directory.file("rootkeeper.sqlite")
        let rows = try ExternalTool("sqlite3").run([database, "SELECT serial FROM certificates WHERE status = 'issued' AND der IS NOT NULL"])
        #expect(rows.succeeded, "sqlite3: \(rows.stderr)")
        let stored = Set(rows.stdout.split(separator: "\n").map { String($0).trimmingCharacters(in: .whitespaces) })
        #expect(serials.isSubset(of: stored))
        let reserved = try ExternalTool("sqlite3").run([database, "SELECT count(*) FROM certificates WHERE status = 'reserved'"])
        #expect(reserved.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }
}
