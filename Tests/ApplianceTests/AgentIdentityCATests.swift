import ApplianceKit
import Crypto
import Foundation
import PKICore
import Registration
import TestSupport
import Testing
import X509

/// docs/identity.md at the intermediate CA: the subject scheme of issued agent certificates, the
/// mixed-case attack, and an existing fleet's earlier-scheme certificates renewing.
@Suite("Agent identity at the intermediate CA")
struct AgentIdentityCATests {
    @Test("issued agents carry CN=<hostname> when it fits and no CN beyond 64, the identity in the SAN")
    func subjectScheme() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let short = try await harness.enrollWithToken(hostname: "web-02.fleet.example.com")
        #expect(SubjectName.commonName(of: short.certificate.subject) == "web-02.fleet.example.com")
        let longName = String(repeating: "a", count: 63) + "." + String(repeating: "b", count: 10)
        let long = try await harness.enrollWithToken(hostname: longName)
        #expect(SubjectName.commonName(of: long.certificate.subject) == nil)
        #expect(AgentSubject(certificate: long.certificate) == AgentSubject(hostname: longName, uuid: long.uuid))
        #expect(String(describing: long.certificate.subject).contains("OU=agents"))
    }

    @Test("attack: DB3.example.org after db3.example.org is refused by token and tokenless, and the first agent keeps the name")
    func mixedCaseAttack() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let first = try await harness.enrollWithToken(hostname: "db3.example.org")
        let token = try await harness.ca.createToken(hostname: nil, caller: CAHarness.admin)
        let attacker = try CAHarness.agentCSR(hostname: "DB3.example.org")
        guard case .rejected(let reason) = try await harness.ca.enroll(csrDER: attacker.der, token: token, source: "127.0.0.1") else {
            Issue.record("a second agent for the same name in another case must be refused")
            return
        }
        #expect(reason.contains("hostname db3.example.org belongs to active agent \(first.uuid)"), "\(reason)")
        guard case .rejected(let tokenless) = try await harness.ca.enroll(csrDER: attacker.der, token: nil, source: "127.0.0.1") else {
            Issue.record("tokenless: a second agent for the same name must be refused")
            return
        }
        #expect(tokenless.contains("belongs to active agent"), "\(tokenless)")
        #expect(try await harness.store.agents(status: .active).map(\.hostname) == ["db3.example.org"])
        // A token bound in another case enrols the canonical name.
        let bound = try await harness.ca.createToken(hostname: "WEB9.Example.org", caller: CAHarness.admin)
        let upper = try CAHarness.agentCSR(hostname: "Web9.EXAMPLE.org")
        guard case .issued(let certificate, _) = try await harness.ca.enroll(csrDER: upper.der, token: bound, source: "127.0.0.1") else {
            Issue.record("a token bound to WEB9.Example.org must enrol web9.example.org")
            return
        }
        #expect(AgentSubject(certificate: certificate)?.hostname == "web9.example.org")
        #expect(SubjectName.commonName(of: certificate.subject) == "web9.example.org")
    }

    @Test("an existing fleet: an earlier-scheme certificate (CN=agent-…) authenticates and renews with an old or new CSR into the current scheme")
    func earlierSchemeRenews() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let uuid = UUID().uuidString.lowercased()
        let key = try KeyAlgorithm.p256.generatePrivateKey()
        // Issue as an earlier release did: token authorisation, reservation, signature, record.
        let token = try await harness.ca.createToken(hostname: "db-01", caller: CAHarness.admin)
        let legacyCSR = try TestPKI.legacyAgentCSR(hostname: "db-01", uuid: uuid, key: key)
        let identity = RequestIdentity(
            hostname: "db-01", agentID: try #require(AgentID(uuid)), spkiSHA256: legacyCSR.publicKey.spkiSHA256Hex,
            csrDER: try PEMCodec.der(legacyCSR))
        guard
            case .issue(let authorization) = try await harness.ca.authority.evaluateEnrollment(
                Registration.EnrollmentRequest(identity: identity, token: token, sourceAddress: nil))
        else {
            Issue.record("token enrolment must be authorised")
            return
        }
        let profile = try LegacyAgentProfile(identity: AgentIdentity(hostname: "db-01", uuid: uuid), organization: harness.pki.organization)
        let prepared = try harness.pki.intermediateIssuer.prepare(profile: profile, subjectPublicKey: key.publicKey)
        let serial = CertificateRecord.serialHex(contentBytes: prepared.serialNumber.bytes)
        let record = CertificateRecord(
            serial: serial, issuerSKI: try IssuerRoster.ski(harness.pki.intermediate), type: .agent,
            subject: String(describing: prepared.subject), notBefore: prepared.notValidBefore,
            notAfter: prepared.notValidAfter, tbsSHA256: Hex.encode(SHA256.hash(data: prepared.tbsCertificateBytes)),
            reservedAt: harness.pki.clock.now())
        _ = try await harness.ca.authority.reserveIssuance(authorization, certificate: record)
        let legacy = try await harness.pki.intermediateIssuer.issue(prepared)
        _ = try await harness.ca.authority.completeIssuance(serial: serial, certificateDER: try PEMCodec.der(legacy))
        #expect(SubjectName.commonName(of: legacy.subject) == "agent-db-01-\(uuid)")

        let client = try harness.authenticated(legacy)
        #expect(client.identity == AgentSubject(hostname: "db-01", uuid: uuid))
        harness.pki.clock.set(legacy.notValidAfter.addingTimeInterval(-10 * 86_400))
        // An agent of the earlier release sends the earlier CN (here without SAN).
        let oldAgentCSR = try TestPKI.legacyAgentCSR(hostname: "db-01", uuid: uuid, key: try KeyAlgorithm.p256.generatePrivateKey())
        guard case .issued(let renewed, _) = try await harness.ca.reenroll(csrDER: try PEMCodec.der(oldAgentCSR), client: client) else {
            Issue.record("an earlier-scheme certificate must renew")
            return
        }
        #expect(SubjectName.commonName(of: renewed.subject) == "db-01")
        #expect(AgentSubject(certificate: renewed) == client.identity)
        // The renewed (current-scheme) certificate renews again with a current CSR.
        harness.pki.clock.set(renewed.notValidAfter.addingTimeInterval(-10 * 86_400))
        let current = try CAHarness.agentCSR(hostname: "db-01", uuid: uuid)
        guard case .issued = try await harness.ca.reenroll(csrDER: current.der, client: try harness.authenticated(renewed)) else {
            Issue.record("a current-scheme certificate must renew")
            return
        }
    }
}
