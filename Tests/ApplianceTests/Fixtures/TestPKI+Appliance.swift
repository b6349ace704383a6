import Foundation
import PKICore
import TestSupport
import X509

/// What the HTTP-layer fixtures need from the one test PKI (``TestPKI``): PEM credentials for the
/// in-process server and for curl, issued through the real profiles and linter.
extension TestPKI {
    /// A server certificate for `commonName`, `localhost` and 127.0.0.1, as the chain PEM
    /// (leaf, intermediate) and key PEM the TLS holder takes.
    func serverCredentials(commonName: String = "appliance.test") async throws -> (chainPEM: [UInt8], keyPEM: [UInt8], certificate: Certificate) {
        let leaf = try await issueServer(fqdn: commonName, dnsNames: ["localhost"], ipAddresses: [[127, 0, 0, 1]])
        let chain = try PEMCodec.pemChain([leaf.certificate, intermediate])
        return (Array(chain.utf8), Array(try leaf.privateKey.serializeAsPEM().pemString.appending("\n").utf8), leaf.certificate)
    }

    /// An agent certificate (docs/identity.md) and its PEM key.
    func agentCredentials(hostname: String, uuid: String = UUID().uuidString.lowercased()) async throws -> (certificate: Certificate, keyPEM: String)
    {
        let leaf = try await issueAgent(hostname: hostname, uuid: uuid)
        return (leaf.certificate, try leaf.privateKey.serializeAsPEM().pemString.appending("\n"))
    }

    /// Issues an agent certificate for the key in `csr` as the appliance's agent profile does.
    func issueAgent(for csr: CertificateSigningRequest, identity: AgentIdentity) async throws -> Certificate {
        let profile = try AgentLeafProfile(identity: identity, organization: organization)
        return try await intermediateIssuer.issue(intermediateIssuer.prepare(profile: profile, subjectPublicKey: csr.publicKey))
    }

    /// The intermediate then the root, PEM, as clients are given them.
    var chainPEM: String { get throws { try PEMCodec.pemChain([intermediate, root]) } }
}

extension Certificate {
    var pem: String { get throws { try PEMCodec.pem(self) } }
}
