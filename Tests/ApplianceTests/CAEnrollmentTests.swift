import ApplianceKit
import Foundation
import PKICore
import Registration
import TestSupport
import Testing
import X509

@Suite("Intermediate CA enrolment")
struct CAEnrollmentTests {
    @Test("an enrolment with a token yields a certificate that openssl verifies against the root and intermediate")
    func tokenEnrolment() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let token = try await harness.ca.createToken(hostname: "web-1", caller: CAHarness.admin)
        let request = try CAHarness.agentCSR(hostname: "web-1")
        let outcome = try await harness.ca.enroll(csrDER: request.der, token: token, source: "10.0.0.5")
        guard case .issued(let certificate, let chain) = outcome else {
            Issue.record("expected a certificate, got \(outcome)")
            return
        }
        #expect(chain == [harness.pki.intermediate, harness.pki.root])
        #expect(AgentSubject(certificate: certificate)?.uuid == request.uuid)

        try harness.pki.writePEM(to: harness.directory.path)
        try PEMCodec.pem(certificate).write(toFile: harness.directory.file("agent.pem"), atomically: true, encoding: .utf8)
        let verify = try ExternalTool("openssl").run([
            "verify", "-purpose", "sslclient", "-CAfile", harness.directory.file("root.pem"),
            "-untrusted", harness.directory.file("intermediate.pem"), harness.directory.file("agent.pem"),
        ])
        #expect(verify.succeeded, "openssl verify: \(verify.output)")

        // The same token cannot be used twice.
        let replay = try await harness.ca.enroll(csrDER: try CAHarness.agentCSR(hostname: "web-1").der, token: token, source: "10.0.0.6")
        guard case .rejected(let reason) = replay else {
            Issue.record("a replayed token must be refused, got \(replay)")
            return
        }
        #expect(reason.contains("token"))
    }

    @Test("without a token the request is pending (202 + Retry-After) until approved, then the same request is issued")
    func pendingThenApproved() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let request = try CAHarness.agentCSR(hostname: "db-1")
        guard case .pending(let registrationID, let retryAfter) = try await harness.ca.enroll(csrDER: request.der, token: nil, source: "10.0.0.7")
        else {
            Issue.record("expected pending")
            return
        }
        #expect(retryAfter == 30)
        guard case .pending(let again, _) = try await harness.ca.enroll(csrDER: request.der, token: nil, source: "10.0.0.7") else {
            Issue.record("a repeated request must still be pending")
            return
        }
        #expect(again == registrationID)

        let approval = try await harness.ca.approveAgent(id: registrationID, caller: CAHarness.admin)
        #expect(approval.hasPrefix(registrationID))
        guard case .issued(let certificate, _) = try await harness.ca.enroll(csrDER: request.der, token: nil, source: "10.0.0.7") else {
            Issue.record("expected a certificate after approval")
            return
        }
        #expect(AgentSubject(certificate: certificate)?.hostname == "db-1")
        // RFC 7030 §4.2.3: asking again answers with the same certificate.
        guard case .issued(let same, _) = try await harness.ca.enroll(csrDER: request.der, token: nil, source: "10.0.0.7") else {
            Issue.record("expected the issued certificate again")
            return
        }
        #expect(same == certificate)

        let audit = try await harness.store.auditEvents(afterSeq: 0, limit: 1000)
        #expect(audit.contains { $0.action == "registration.approved" && $0.actor == "admin:uid=4242" })
    }

    @Test("a rejected registration is refused with the administrator's reason")
    func rejected() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let request = try CAHarness.agentCSR(hostname: "rogue")
        guard case .pending(let registrationID, _) = try await harness.ca.enroll(csrDER: request.der, token: nil, source: "10.0.0.8") else {
            Issue.record("expected pending")
            return
        }
        // Administrators may name the registration by the agent UUID too.
        _ = try await harness.ca.rejectAgent(id: request.uuid, reason: "unknown machine in rack 4", caller: CAHarness.admin)
        guard case .rejected(let reason) = try await harness.ca.enroll(csrDER: request.der, token: nil, source: "10.0.0.8") else {
            Issue.record("expected a refusal")
            return
        }
        #expect(reason.contains("unknown machine in rack 4"))
        #expect(reason.contains(registrationID))
    }

    @Test("a CSR that is not an agent request is refused with a reason, not an error")
    func badCSR() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let garbage = try await harness.ca.enroll(csrDER: [0x30, 0x03, 0x02, 0x01, 0x00], token: nil, source: "x")
        guard case .rejected = garbage else {
            Issue.record("malformed DER must be a refusal")
            return
        }
        let key = try KeyAlgorithm.p256.generatePrivateKey()
        let csr = try CertificateSigningRequest(
            version: .v1, subject: DistinguishedName { CommonName("not-an-agent") },
            privateKey: key, attributes: CertificateSigningRequest.Attributes())
        guard case .rejected(let reason) = try await harness.ca.enroll(csrDER: try PEMCodec.der(csr), token: nil, source: "x") else {
            Issue.record("a non-agent subject must be refused")
            return
        }
        #expect(reason.contains("agent"))
    }
}

/// docs/profiles.md#lint-before-signing with the placeholder-signed lint copy: a certificate that
/// fails a lint rule is still refused before anything is reserved, signed or recorded.
@Suite("A lint failure refuses enrolment and stores nothing")
struct LintRefusalEnrollmentTests {
    /// A serial source that hands out a zero serial, which `e_serial_number_form` refuses
    /// (RFC 5280 §4.1.2.2: serial numbers are positive).
    struct ZeroSerials: SerialNumberSource {
        func next() throws -> Certificate.SerialNumber { Certificate.SerialNumber(bytes: [0]) }
    }

    @Test("an enrolment whose certificate fails lint is refused naming the rule; no row, no audit, the token stays usable")
    func lintFailureStoresNothing() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let pki = harness.pki
        let badIssuer = try CertificateIssuer(
            issuerCertificate: pki.intermediate, privateKey: pki.intermediateKey, clock: pki.clock, random: pki.random, serials: ZeroSerials())
        let badCA = try harness.ca(announcingTo: [], issuer: badIssuer)
        let token = try await harness.ca.createToken(hostname: "lint-1", caller: CAHarness.admin)
        let request = try CAHarness.agentCSR(hostname: "lint-1")
        let auditBefore = try await harness.store.auditEvents(afterSeq: 0, limit: 10_000).count

        let error = await #expect(throws: PKIError.self) {
            _ = try await badCA.enroll(csrDER: request.der, token: token, source: "10.0.0.9")
        }
        #expect(error?.code == .lintFailure, "\(String(describing: error))")
        #expect(error?.reason.hasPrefix("e_serial_number_form") == true, "\(String(describing: error))")

        let database = harness.directory.file("rootkeeper.sqlite")
        let rows = try ExternalTool("sqlite3").run([database, "SELECT COUNT(*) FROM certificates WHERE subject LIKE '%lint-1%'"])
        #expect(
            rows.succeeded && rows.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0",
            "a refused certificate must leave no row: \(rows.output)")
        let consumed = try ExternalTool("sqlite3").run([database, "SELECT COUNT(*) FROM enrollment_tokens WHERE consumed_at IS NOT NULL"])
        #expect(consumed.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "the token must not be spent: \(consumed.output)")
        #expect(try await harness.store.auditEvents(afterSeq: 0, limit: 10_000).count == auditBefore, "nothing is audited as reserved or issued")

        // The next attempt through the correct issuer succeeds with the same token.
        guard case .issued(let certificate, _) = try await harness.ca.enroll(csrDER: request.der, token: token, source: "10.0.0.9") else {
            Issue.record("the same token must still enrol once the issuer is sound")
            return
        }
        #expect(pki.intermediate.publicKey.isValidSignature(certificate.signature, for: certificate))
    }
}
