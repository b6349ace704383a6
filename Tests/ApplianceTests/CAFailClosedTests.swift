import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing
import X509

@Suite("Intermediate CA fails closed")
struct CAFailClosedTests {
    @Test("when the store cannot answer, revocation checks and client authentication throw instead of answering good")
    func storeFailureThrows() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let (certificate, _) = try await harness.enrollWithToken(hostname: "edge-1")
        #expect(try await harness.ca.revocationStatus(of: certificate) == .good)

        // Break the database underneath the running CA with an independent tool.
        let broken = try ExternalTool("sqlite3").run([harness.directory.file("rootkeeper.sqlite"), "DROP TABLE revocations"])
        #expect(broken.succeeded, "sqlite3: \(broken.stderr)")

        await #expect(throws: (any Error).self) { _ = try await harness.ca.revocationStatus(of: certificate) }
        let authenticator = StandardClientAuthenticator(
            trust: ClientTrust(root: harness.pki.root, intermediates: [harness.pki.intermediate], clock: harness.pki.clock),
            revocation: harness.ca, registry: harness.ca, clock: harness.pki.clock)
        await #expect(throws: (any Error).self) { _ = try await authenticator.authenticate(certificate) }
    }
}
