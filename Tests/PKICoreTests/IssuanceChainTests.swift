import Foundation
import PKICore
import SwiftASN1
import TestSupport
import Testing
import X509

@Suite("Issuing a root → intermediate → leaf chain")
struct IssuanceChainTests {
    @Test("An RSA-4096 root, P-256 intermediate and agent leaf pass openssl verify -x509_strict", .timeLimit(.minutes(5)))
    func rsaRootChainVerifiesWithOpenSSL() async throws {
        let pki = try await TestPKI.make(rootAlgorithm: .rsa4096)
        let agent = try await pki.issueAgent(hostname: "web-1.example.net")
        let result = try OpenSSL.verify(root: pki.root, intermediate: pki.intermediate, leaf: agent.certificate, purpose: "sslclient")
        #expect(result.succeeded, "openssl verify: \(result.output)")
        #expect(result.stdout.contains("OK"))
        #expect(pki.root.signatureAlgorithm == .sha256WithRSAEncryption)
    }

    @Test("A P-384 root chain verifies, and the agent leaf carries exactly the agent profile of docs/profiles.md#agent-leaf")
    func p384RootChainAndAgentProfile() async throws {
        let uuid = "0b8a6c1e-3f5d-4c2a-9e7b-1d2c3b4a5f60"
        let pki = try await TestPKI.make(rootAlgorithm: .p384)
        let agent = try await pki.issueAgent(hostname: "db-2", uuid: uuid)
        let result = try OpenSSL.verify(root: pki.root, intermediate: pki.intermediate, leaf: agent.certificate, purpose: "sslclient")
        #expect(result.succeeded, "openssl verify: \(result.output)")

        let certificate = agent.certificate
        #expect(SubjectName.commonName(of: certificate.subject) == "db-2")
        #expect(try certificate.extensions.basicConstraints == .notCertificateAuthority)
        #expect(certificate.extensions[oid: .X509ExtensionID.basicConstraints]?.critical == true)
        let usage = try #require(try certificate.extensions.keyUsage)
        #expect(usage.digitalSignature && !usage.keyEncipherment && !usage.keyCertSign)
        #expect(try certificate.extensions.extendedKeyUsage.map(Array.init) == [.clientAuth])
        let sans = try #require(try certificate.extensions.subjectAlternativeNames).map { $0 }
        #expect(sans == [.dnsName("db-2"), .uniformResourceIdentifier("urn:uuid:\(uuid)")])
        let ski = try #require(try pki.intermediate.extensions.subjectKeyIdentifier)
        #expect(try certificate.extensions.authorityKeyIdentifier?.keyIdentifier == ski.keyIdentifier)
        #expect(certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore) <= 90 * 86_400 + 300)
        // The intermediate: CA:TRUE pathLen 0; the root: CA:TRUE without pathLen, 20 years.
        #expect(try pki.intermediate.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
        #expect(try pki.root.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: nil))
        let text = try OpenSSL.text(pki.root)
        #expect(text.contains("CA:TRUE") && !text.contains("pathlen"))
    }

    @Test("A server leaf with DNS names and an IP passes openssl verify for sslserver, with its SANs")
    func serverLeafVerifies() async throws {
        let pki = try await TestPKI.make()
        let server = try await pki.issueServer(fqdn: "ca.example.net", dnsNames: ["localhost"], ipAddresses: [[127, 0, 0, 1]])
        let result = try OpenSSL.verify(root: pki.root, intermediate: pki.intermediate, leaf: server.certificate, purpose: "sslserver")
        #expect(result.succeeded, "openssl verify: \(result.output)")
        let text = try OpenSSL.text(server.certificate)
        #expect(text.contains("DNS:ca.example.net"))
        #expect(text.contains("DNS:localhost"))
        #expect(text.contains("IP Address:127.0.0.1"))
        #expect(text.contains("TLS Web Server Authentication"))
    }

    @Test("An RSA agent key gets keyEncipherment; CRL DP and AIA URLs appear when configured")
    func rsaLeafAndRevocationPointers() async throws {
        let pointers = try RevocationPointers(
            crlURL: "http://ca.example/crl/intermediate.crl", ocspURL: "http://ca.example/ocsp", caIssuersURL: "http://ca.example/ca/chain.pem")
        let pki = try await TestPKI.make()
        let agent = try await pki.issueAgent(hostname: "rsa-host", algorithm: .rsa2048, pointers: pointers)
        #expect(try agent.certificate.extensions.keyUsage?.keyEncipherment == true)
        let text = try OpenSSL.text(agent.certificate)
        #expect(text.contains("URI:http://ca.example/crl/intermediate.crl"))
        #expect(text.contains("OCSP - URI:http://ca.example/ocsp"))
        #expect(text.contains("CA Issuers - URI:http://ca.example/ca/chain.pem"))
    }

    @Test("The OCSP signer carries OCSPSigning and id-pkix-ocsp-nocheck, the admin profile CN=admin-<name>")
    func ocspSignerAndAdminProfiles() async throws {
        let pki = try await TestPKI.make()
        let key = try KeyAlgorithm.p256.generatePrivateKey()
        let token = try pki.intermediateIssuer.prepare(
            profile: OCSPSignerProfile(name: "ocsp.example.net", organization: "Rootkeeper Test"), subjectPublicKey: key.publicKey)
        let signer = try await pki.intermediateIssuer.issue(token)
        let text = try OpenSSL.text(signer)
        #expect(text.contains("OCSP Signing"))
        #expect(text.contains("OCSP No Check"))
        #expect(signer.notValidAfter.timeIntervalSince(signer.notValidBefore) <= 7 * 86_400 + 300)
        let admin = try await pki.issueAdmin(name: "alice")
        #expect(SubjectName.commonName(of: admin.certificate.subject) == "admin-alice")
        let verify = try OpenSSL.verify(root: pki.root, intermediate: pki.intermediate, leaf: admin.certificate, purpose: "sslclient")
        #expect(verify.succeeded, "openssl verify: \(verify.output)")
    }

    @Test("A leaf never outlives its issuer: validity is clamped to the intermediate's notAfter")
    func validityIsClampedToIssuer() async throws {
        let pki = try await TestPKI.make()
        // Move the clock to 30 days before the intermediate expires; a 90-day agent gets clamped.
        pki.clock.set(pki.intermediate.notValidAfter.addingTimeInterval(-30 * 86_400))
        let agent = try await pki.issueAgent(hostname: "late")
        #expect(agent.certificate.notValidAfter == pki.intermediate.notValidAfter)
        // Past the issuer's end, issuance is refused.
        pki.clock.set(pki.intermediate.notValidAfter.addingTimeInterval(60))
        let late = await #expect(throws: PKIError.self) { try await pki.issueAgent(hostname: "too-late") }
        #expect(late?.code == .invalidParameter && late?.reason.hasPrefix("the issuer certificate expired at") == true, "\(String(describing: late))")
    }

    @Test("The issued certificate's TBS is byte-identical to the linted one and verifies with the issuer key")
    func issuedTBSMatchesToken() async throws {
        let pki = try await TestPKI.make()
        let key = try KeyAlgorithm.p256.generatePrivateKey()
        let profile = try AgentLeafProfile(identity: AgentIdentity(hostname: "h", uuid: "11111111-2222-4333-8444-555555555555"), organization: "O")
        let token = try pki.intermediateIssuer.prepare(profile: profile, subjectPublicKey: key.publicKey)
        let tbs = token.tbsCertificateBytes
        let serial = token.serialNumber
        let certificate = try await pki.intermediateIssuer.issue(token)
        #expect(Array(certificate.tbsCertificateBytes) == tbs)
        #expect(certificate.serialNumber == serial)
        #expect(pki.intermediate.publicKey.isValidSignature(certificate.signature, for: certificate))
    }

    @Test("The lint copy costs no signature (placeholder value that verifies under no key); issue signs exactly once and verifies")
    func lintCopyIsNotSigned() async throws {
        let pki = try await TestPKI.make()
        let counting = CountingKey(key: pki.intermediateKey)
        let issuer = try CertificateIssuer(
            issuerCertificate: pki.intermediate, privateKey: Certificate.PrivateKey(counting), clock: pki.clock, random: pki.random)
        let profile = try AgentLeafProfile(identity: AgentIdentity(hostname: "h", uuid: "11111111-2222-4333-8444-555555555555"), organization: "O")
        let token = try issuer.prepare(profile: profile, subjectPublicKey: KeyAlgorithm.p256.generatePrivateKey().publicKey)
        #expect(counting.signatures == 0, "prepare must not compute a signature for the lint copy")
        #expect(!pki.intermediate.publicKey.isValidSignature(token.lintedCertificate.signature, for: token.lintedCertificate))
        let tbs = token.tbsCertificateBytes
        let certificate = try await issuer.issue(token)
        #expect(counting.signatures == 1, "issue signs exactly once")
        #expect(Array(certificate.tbsCertificateBytes) == tbs)
        #expect(pki.intermediate.publicKey.isValidSignature(certificate.signature, for: certificate))
    }

    @Test("An issuer refuses a private key that does not belong to its certificate")
    func mismatchedIssuerKeyIsRefused() async throws {
        let pki = try await TestPKI.make()
        let other = try KeyAlgorithm.p256.generatePrivateKey()
        let mismatch = #expect(throws: PKIError.self) {
            try CertificateIssuer(issuerCertificate: pki.intermediate, privateKey: other, clock: pki.clock, random: pki.random)
        }
        #expect(
            mismatch?.code == .invalidParameter && mismatch?.reason == "the issuer private key does not belong to the issuer certificate",
            "\(String(describing: mismatch))")
    }
}

/// Wraps a software key and counts the signatures it makes.
final class CountingKey: CustomPrivateKey, @unchecked Sendable {
    let key: Certificate.PrivateKey
    private let lock = NSLock()
    private var count = 0
    init(key: Certificate.PrivateKey) { self.key = key }
    var signatures: Int { lock.withLock { count } }
    var publicKey: Certificate.PublicKey { key.publicKey }
    var defaultSignatureAlgorithm: Certificate.SignatureAlgorithm { key.supportedSignatureAlgorithms[0] }
    var supportedSignatureAlgorithms: [Certificate.SignatureAlgorithm] { key.supportedSignatureAlgorithms }
    func signSynchronously(bytes: some DataProtocol, signatureAlgorithm: Certificate.SignatureAlgorithm) throws -> Certificate.Signature {
        lock.withLock { count += 1 }
        return try key.sign(bytes: bytes, signatureAlgorithm: signatureAlgorithm)
    }
    static func == (lhs: CountingKey, rhs: CountingKey) -> Bool { lhs === rhs }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
    static var defaultPEMDiscriminator: String { "PRIVATE KEY" }
    func serialize(into coder: inout DER.Serializer) throws { throw PKIError.unsupported("test key is not exportable") }
}
