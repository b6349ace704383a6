import Foundation
import PKICore
import TestSupport
import Testing
import X509

/// docs/identity.md: the agent identity is read from the SAN, canonical lower case, and the CN is
/// the host name only when it fits ub-common-name.
@Suite("Agent identity and host name syntax")
struct AgentIdentityTests {
    static let uuid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"

    @Test("host names are canonicalised to lower case and validated (LDH, labels ≤ 63, total ≤ 253, no numeric TLD)")
    func canonicalHostnames() throws {
        #expect(NameSyntax.canonicalHostname("DB3.Example.ORG") == "db3.example.org")
        #expect(try AgentIdentity(hostname: "Web-01.Fleet.Example.COM", uuid: Self.uuid).hostname == "web-01.fleet.example.com")
        for bad in [
            "", "-a", "a-", "a..b", "a_b", "a b", "127.0.0.1", "10.1.2.300", String(repeating: "a", count: 64), TestHostname.ldh(length: 253) + "a",
            "ä.example",
        ] {
            #expect(NameSyntax.canonicalHostname(bad) == nil, "\(bad)")
            let error = #expect(throws: PKIError.self) { _ = try AgentIdentity(hostname: bad, uuid: Self.uuid) }
            #expect(
                error?.code == .invalidParameter && error?.reason.hasPrefix("'\(bad)' is not a valid host name") == true,
                "\(bad): \(String(describing: error))")
        }
        for length in [1, 21, 22, 63, 64, 65, 200, 253] {
            #expect(NameSyntax.isValidHostname(TestHostname.ldh(length: length)), "length \(length)")
        }
    }

    @Test("the CN is the host name up to 64 characters and absent beyond; the SAN always carries the identity")
    func commonNameScheme() throws {
        let short = try AgentIdentity(hostname: TestHostname.ldh(length: 64), uuid: Self.uuid)
        #expect(short.commonName == short.hostname)
        let long = try AgentIdentity(hostname: TestHostname.ldh(length: 65), uuid: Self.uuid)
        #expect(long.commonName == nil)
        #expect(try long.requestSubject().isEmpty)
        #expect(Array(long.subjectAlternativeNames) == [.dnsName(long.hostname), .uniformResourceIdentifier("urn:uuid:\(Self.uuid)")])
        let subject = try SubjectName.agent(long, organization: "Rootkeeper", agentsUnit: "agents")
        #expect(SubjectName.commonName(of: subject) == nil)
        #expect(!subject.isEmpty)
    }

    @Test("the identity is read from the SAN; a CN must agree with it (host name in any case, or the earlier agent- form)")
    func identityFromSAN() throws {
        let sans = SubjectAlternativeNames([.dnsName("Db3.Example.org"), .uniformResourceIdentifier("urn:uuid:\(Self.uuid)")])
        for cn in [nil, "db3.example.org", "DB3.EXAMPLE.ORG", "agent-db3.example.org-\(Self.uuid)"] {
            let subject = try DistinguishedName { if let cn { CommonName(cn) } }
            let identity = try AgentIdentity(subject: subject, subjectAlternativeNames: sans)
            #expect(identity.hostname == "db3.example.org" && identity.uuid == Self.uuid, "CN \(cn ?? "none")")
        }
        for (cn, why) in [
            ("other.example.org", "does not name the subjectAltName's agent"),
            ("agent-db3.example.org-7c9e6679-7425-40de-944b-e07fc1f90ae7", "does not name the subjectAltName's agent"),
        ] {
            let error = #expect(throws: PKIError.self) {
                _ = try AgentIdentity(subject: try DistinguishedName { CommonName(cn) }, subjectAlternativeNames: sans)
            }
            #expect(error?.reason.contains(why) == true, "\(error?.reason ?? "")")
        }
        let two = #expect(throws: PKIError.self) {
            _ = try AgentIdentity(
                subject: DistinguishedName(),
                subjectAlternativeNames: SubjectAlternativeNames([
                    .dnsName("a.example"), .dnsName("b.example"), .uniformResourceIdentifier("urn:uuid:\(Self.uuid)"),
                ]))
        }
        #expect(two?.reason.contains("exactly one DNS name") == true)
        let none = #expect(throws: PKIError.self) { _ = try AgentIdentity(subject: DistinguishedName(), subjectAlternativeNames: nil) }
        #expect(none?.reason.contains("no subjectAltName names the agent") == true)
        // Without a SAN the earlier CN alone still names an agent (old CSRs).
        let legacy = try AgentIdentity(subject: try DistinguishedName { CommonName("agent-web-1-\(Self.uuid)") }, subjectAlternativeNames: nil)
        #expect(legacy.hostname == "web-1")
    }

    @Test("a certificate of the earlier scheme (CN=agent-{hostname}-{uuid} + SANs) still names its agent")
    func earlierSchemeCertificate() async throws {
        let pki = try await TestPKI.make()
        let key = try KeyAlgorithm.p256.generatePrivateKey()
        let legacy = try await pki.issueLegacyAgent(hostname: "db-01", uuid: Self.uuid, key: key)
        #expect(SubjectName.commonName(of: legacy.subject) == "agent-db-01-\(Self.uuid)")
        let identity = try AgentIdentity(certifiedBy: legacy)
        #expect(identity.hostname == "db-01" && identity.uuid == Self.uuid)
    }
}
