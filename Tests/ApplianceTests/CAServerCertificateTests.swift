import ApplianceKit
import Foundation
import Logging
import PKICore
import TestSupport
import Testing
import X509

@Suite("Appliance TLS server certificate")
struct CAServerCertificateTests {
    @Test("issued on first start with a 0600 key; rotated at 29 days before expiry but not at 31, to a different certificate")
    func rotation() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let state = StateDirectory(path: harness.directory.file("state"))
        try state.create()
        let manager = ServerCertificateManager(
            state: state, ca: harness.ca,
            identity: .init(fqdn: "ca.example.test", dnsNames: ["localhost"], ipAddresses: [[127, 0, 0, 1]]))

        #expect(try await manager.rotateIfDue() == true)
        let first = try #require(try manager.currentCertificate())
        #expect(try StateDirectory.modeForTests(state.serverKey) == 0o600)
        #expect(try await manager.rotateIfDue() == false)
        // The server certificate is in the store like any other (crash safety).
        #expect(try await harness.store.certificate(serial: IntermediateCA.serialHex(first))?.status == .issued)

        // The listener's holder is built from the issued material; the running manager, built
        // with it, rotates into it in place later (as ApplianceRuntime does).
        let initial = try manager.tlsMaterial()
        let holder = try ServerCertificateHolder(
            chainPEM: initial.chainPEM, keyPEM: initial.keyPEM,
            trust: ClientTrust(root: harness.pki.root, intermediates: [harness.pki.intermediate], clock: harness.pki.clock))
        let running = ServerCertificateManager(
            state: state, ca: harness.ca,
            identity: .init(fqdn: "ca.example.test", dnsNames: ["localhost"], ipAddresses: [[127, 0, 0, 1]]), holder: holder)
        let contextBefore = ObjectIdentifier(holder.current)

        harness.pki.clock.set(first.notValidAfter.addingTimeInterval(-31 * 86_400))
        #expect(try await running.rotateIfDue() == false)
        #expect(try running.currentCertificate() == first)

        harness.pki.clock.set(first.notValidAfter.addingTimeInterval(-29 * 86_400))
        #expect(try await running.rotateIfDue() == true)
        let second = try #require(try running.currentCertificate())
        #expect(second != first)
        #expect(second.publicKey != first.publicKey)
        #expect(second.notValidAfter > first.notValidAfter)
        #expect(ObjectIdentifier(holder.current) != contextBefore, "new handshakes must use the rotated certificate")

        // openssl accepts the new chain for TLS server use.
        try harness.pki.writePEM(to: harness.directory.path)
        let verify = try ExternalTool("openssl").run([
            "verify", "-purpose", "sslserver", "-attime", String(Int(harness.pki.clock.now().timeIntervalSince1970)),
            "-CAfile", harness.directory.file("root.pem"), "-untrusted", state.serverChain, state.serverCertificate,
        ])
        #expect(verify.succeeded, "openssl verify: \(verify.output)")
        let material = try running.tlsMaterial()
        #expect(String(decoding: material.keyPEM, as: UTF8.self).contains("PRIVATE KEY"))
    }
}

extension StateDirectory {
    static func modeForTests(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? Int ?? -1) & 0o777
    }
}

@Suite("Appliance TLS server certificate: a failed issuance gives its reservation back")
struct CAServerCertificateFailureTests {
    func sql(_ h: CAHarness, _ query: String, readOnly: Bool = true) throws -> String {
        let result = try ExternalTool("sqlite3").run((readOnly ? ["-readonly"] : []) + [h.database, query])
        try #require(result.succeeded, "sqlite3 failed: \(result.output)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(
        "a store that refuses to record the server certificate leaves no reservation behind (released: revoked and audited at once, not by the reaper) and the next attempt issues"
    )
    func recordingFailureReleases() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let state = StateDirectory(path: h.directory.file("state"))
        try state.create()
        let manager = ServerCertificateManager(state: state, ca: h.ca, identity: .init(fqdn: "ca.example.test"))
        // A real write failure of the real SQLite store, only for recording a server certificate as issued.
        _ = try sql(
            h,
            """
            CREATE TRIGGER fail_server BEFORE UPDATE OF status ON certificates
            WHEN NEW.type = 'server' AND NEW.status = 'issued'
            BEGIN SELECT RAISE(ABORT, 'injected write failure'); END;
            """, readOnly: false)
        await #expect(throws: (any Error).self) { try await manager.issue() }
        #expect(try manager.currentCertificate() == nil, "nothing is installed after a failed issuance")
        #expect(try sql(h, "SELECT COUNT(*) FROM certificates WHERE status = 'reserved'") == "0", "nothing may stay reserved")
        let failed = try sql(h, "SELECT serial FROM certificates WHERE type = 'server'")
        #expect(!failed.isEmpty && !failed.contains("\n"), "exactly one failed reservation: \(failed)")
        #expect(try sql(h, "SELECT status FROM certificates WHERE serial = '\(failed)'") == "revoked")
        #expect(
            try sql(h, "SELECT action FROM audit_events WHERE subject = '\(failed)' ORDER BY seq")
                == "certificate.reserved\ncertificate.reservation.released")

        _ = try sql(h, "DROP TRIGGER fail_server", readOnly: false)
        try await manager.issue()
        let issued = try #require(try manager.currentCertificate())
        #expect(IntermediateCA.serialHex(issued) != failed)
        #expect(try sql(h, "SELECT status FROM certificates WHERE serial = '\(IntermediateCA.serialHex(issued))'") == "issued")
    }
}

@Suite("Server certificate rotation service")
struct CAServerRotationServiceTests {
    @Test("the background service issues the missing certificate and stops on cancellation")
    func serviceIssues() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let state = StateDirectory(path: harness.directory.file("state"))
        try state.create()
        let manager = ServerCertificateManager(state: state, ca: harness.ca, identity: .init(fqdn: "ca.example.test"))
        let service = ServerCertificateRotationService(manager: manager, interval: .milliseconds(20), logger: Logger(label: "test"))
        let task = Task { try await service.run() }
        var issued: Certificate?
        for _ in 0..<250 where issued == nil {
            try await Task.sleep(for: .milliseconds(20))
            issued = try manager.currentCertificate()
        }
        task.cancel()
        try await task.value
        #expect(issued != nil)
    }
}
