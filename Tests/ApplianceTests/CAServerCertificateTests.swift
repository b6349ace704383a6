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
