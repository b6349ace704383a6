import Crypto
import Foundation
import PKICore
import SwiftASN1
import TestSupport
import Testing
import X509
import _CryptoExtras

@Suite("CSR intake and policy")
struct CSRPolicyTests {
    static let uuid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"

    func agentCSR(cn: String = "agent-web-1-\(uuid)", key: Certificate.PrivateKey? = nil, extensions: Certificate.Extensions? = nil) throws
        -> CertificateSigningRequest
    {
        let key = try key ?? KeyAlgorithm.p256.generatePrivateKey()
        var attributes = CertificateSigningRequest.Attributes()
        if let extensions { attributes.insert(try CertificateSigningRequest.Attribute(ExtensionRequest(extensions: extensions))) }
        return try CertificateSigningRequest(version: .v1, subject: DistinguishedName { CommonName(cn) }, privateKey: key, attributes: attributes)
    }

    @Test("A well-formed agent CSR in PEM is accepted with its identity and SPKI hash")
    func acceptsAgentCSR() throws {
        let csr = try agentCSR()
        let decision = try CSRPolicy(purpose: .agent).evaluate(Array(PEMCodec.pem(csr).utf8))
        let review = try #require(decision.review, "\(decision.rejectionReason ?? "")")
        #expect(review.agentIdentity?.hostname == "web-1")
        #expect(review.agentIdentity?.uuid == Self.uuid)
        #expect(review.spkiSHA256Hex == csr.publicKey.spkiSHA256Hex)
        #expect(review.keyAlgorithm == .p256)
    }

    @Test("A CSR whose signature was tampered with is rejected for missing proof of possession")
    func rejectsBadSignature() throws {
        var der = try PEMCodec.der(agentCSR())
        der[der.count - 5] ^= 0x55  // inside the signature BIT STRING
        let decision = try CSRPolicy(purpose: .agent).evaluate(der)
        #expect(decision.rejectionReason?.contains("proof of possession") == true, "\(String(describing: decision.rejectionReason))")
    }

    @Test("An RSA-1024 CSR (made by openssl) is rejected naming the key size")
    func rejectsRSA1024() throws {
        let directory = try TemporaryDirectory("csr-rsa1024")
        defer { directory.remove() }
        let result = try OpenSSL.tool().run([
            "req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", directory.file("k.pem"),
            "-subj", "/CN=agent-web-1-\(Self.uuid)", "-out", directory.file("csr.pem"),
        ])
        #expect(result.succeeded, "\(result.output)")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: directory.file("csr.pem"))))
        let decision = try CSRPolicy(purpose: .agent).evaluate(bytes)
        let reason = try #require(decision.rejectionReason)
        #expect(reason.contains("RSA-1024") || reason.contains("1024 bits"), "\(reason)")
    }

    @Test(
        "Subjects that are not agent-{hostname}-{uuid} are rejected with the reason",
        arguments: [
            "web-1", "agent-web_1-3f2504e0-4f89-41d3-9a0c-0305e82c3301", "agent-web-1-3F2504E0-4F89-41D3-9A0C-0305E82C3301",
            "agent-web-1-not-a-uuid-at-all-0000000000000000", "agent--3f2504e0-4f89-41d3-9a0c-0305e82c3301",
        ])
    func rejectsWrongSubject(cn: String) throws {
        let decision = try CSRPolicy(purpose: .agent).evaluate(PEMCodec.der(agentCSR(cn: cn)))
        let reason = try #require(decision.rejectionReason, "accepted \(cn)")
        #expect(reason.contains(cn) || reason.contains("agent-"), "\(reason)")
    }

    @Test("The policy reports the identity a CSR names; whether a renewal may name it is the RA's IdentityMismatch decision")
    func rejectsHostnameMismatch() throws {
        // RenewalDecisionTests shows each mismatch refused by the RA; the policy only reads the name.
        let decision = try CSRPolicy(purpose: .agent).evaluate(PEMCodec.der(agentCSR(cn: "agent-db-9-\(Self.uuid)")))
        let review = try #require(decision.review, "\(decision.rejectionReason ?? "")")
        #expect(review.agentIdentity?.hostname == "db-9")
        #expect(review.agentIdentity?.uuid == Self.uuid)
    }

    @Test("An agent CSR requesting CA:TRUE is rejected")
    func rejectsAgentCARequest() throws {
        let extensions = try Certificate.Extensions { Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 5)) }
        let decision = try CSRPolicy(purpose: .agent).evaluate(PEMCodec.der(agentCSR(extensions: extensions)))
        #expect(decision.rejectionReason?.contains("CA:TRUE") == true)
    }

    @Test("An intermediate CSR requesting CA:TRUE pathLen 5 is accepted with the request noted as overridden")
    func notesIntermediateRequestedExtensions() async throws {
        let key = try KeyAlgorithm.p256.generatePrivateKey()
        let extensions = try Certificate.Extensions { Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 5)) }
        var attributes = CertificateSigningRequest.Attributes()
        attributes.insert(try CertificateSigningRequest.Attribute(ExtensionRequest(extensions: extensions)))
        let subject = try SubjectName.intermediate(name: "Ops", organization: "O", unit: nil, country: nil)
        let csr = try CertificateSigningRequest(version: .v1, subject: subject, privateKey: key, attributes: attributes)
        let review = try #require(CSRPolicy(purpose: .intermediateCA).evaluate(PEMCodec.der(csr)).review)
        #expect(review.requestedExtensions.map(\.summary) == ["basicConstraints CA:TRUE pathLen:5 (critical)"])
        #expect(review.requestedExtensions.allSatisfy { $0.overriddenByProfile })
        // Signing it yields pathLen 0 regardless: the profile decides.
        let pki = try await TestPKI.make()
        let certificate = try await pki.rootIssuer.issue(pki.rootIssuer.prepare(profile: IntermediateCAProfile(subject: subject), csr: csr))
        #expect(try certificate.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
    }

    @Test("Truncated DER, garbage and oversized input throw malformed with a reason", arguments: [0, 1, 2])
    func malformedInput(kind: Int) throws {
        let der = try PEMCodec.der(agentCSR())
        let input: [UInt8] =
            switch kind {
            case 0: Array(der.prefix(der.count / 2))
            case 1: Array("hello, this is not a CSR".utf8)
            default: [UInt8](repeating: 0x30, count: CSRDecoder.maximumSize + 1)
            }
        #expect {
            _ = try CSRPolicy(purpose: .agent).evaluate(input)
        } throws: { error in
            guard let error = error as? PKIError else { return false }
            return error.code == .malformedInput && !error.reason.isEmpty
        }
    }

    @Test("A CSR with a forged signature cannot be prepared for issuance")
    func issuerChecksProofOfPossession() async throws {
        var der = try PEMCodec.der(agentCSR())
        der[der.count - 5] ^= 0x55
        let csr = try CSRDecoder.decode(der)
        let pki = try await TestPKI.make()
        let profile = try AgentLeafProfile(identity: AgentIdentity(hostname: "web-1", uuid: Self.uuid), organization: "O")
        #expect(throws: PKIError.invalidSignature("the CSR signature does not verify with its public key (no proof of possession)")) {
            _ = try pki.intermediateIssuer.prepare(profile: profile, csr: csr)
        }
    }
}
