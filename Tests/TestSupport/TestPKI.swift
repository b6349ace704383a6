import Foundation
import PKICore
import X509

/// A quick software PKI for tests, built at run time through the real ``CertificateIssuer``
/// (so everything it hands out has passed the linter): a root (P-384 by default, or RSA), a P-256
/// intermediate, and helpers to issue agent (from a CSR), server and admin leaves.
///
/// Time and randomness are injected: ``clock`` is a `FixedClock` (default: the wall clock at
/// creation, so external tools such as `openssl verify` accept the chain now) and serials come
/// from a `SeededRandomSource` when a seed is given.
///
/// ```swift
/// let pki = try await TestPKI.make()
/// let agent = try await pki.issueAgent(hostname: "web-1")
/// try pki.writePEM(to: directory.path)   // root.pem, intermediate.pem, chain.pem
/// ```
public struct TestPKI: Sendable {
    public let clock: FixedClock
    public let random: any RandomSource
    public let organization: String
    public let root: Certificate
    public let rootKey: Certificate.PrivateKey
    public let intermediate: Certificate
    public let intermediateKey: Certificate.PrivateKey
    public let rootIssuer: CertificateIssuer
    public let intermediateIssuer: CertificateIssuer

    /// A leaf and its private key.
    public struct Leaf: Sendable {
        public let certificate: Certificate
        public let privateKey: Certificate.PrivateKey
    }

    /// Builds root → intermediate. `seed` makes serials repeatable; nil uses the system CSPRNG.
    public static func make(
        rootAlgorithm: KeyAlgorithm = .p384, intermediateAlgorithm: KeyAlgorithm = .p256,
        now: Date = Date(), seed: UInt64? = nil, organization: String = "Rootkeeper Test",
        pointers: RevocationPointers = .none
    ) async throws -> TestPKI {
        let clock = FixedClock(now)
        let random: any RandomSource = seed.map { SeededRandomSource(seed: $0) } ?? SystemRandomSource()
        let rootKey = try rootAlgorithm.generatePrivateKey()
        let rootIssuer = try CertificateIssuer.selfSigned(privateKey: rootKey, clock: clock, random: random)
        let rootProfile = try RootCAProfile(subject: SubjectName.root(name: "Test", organization: organization, unit: "PKI", country: "US"))
        let root = try await rootIssuer.issue(rootIssuer.prepare(profile: rootProfile, subjectPublicKey: rootKey.publicKey))

        let intermediateKey = try intermediateAlgorithm.generatePrivateKey()
        let signer = try CertificateIssuer(issuerCertificate: root, privateKey: rootKey, clock: clock, random: random)
        let intermediateProfile = try IntermediateCAProfile(
            subject: SubjectName.intermediate(name: "Test", organization: organization, unit: "PKI", country: "US"),
            pointers: try RevocationPointers(crlURL: pointers.crlURL))
        let intermediate = try await signer.issue(signer.prepare(profile: intermediateProfile, subjectPublicKey: intermediateKey.publicKey))
        let intermediateIssuer = try CertificateIssuer(issuerCertificate: intermediate, privateKey: intermediateKey, clock: clock, random: random)
        return TestPKI(
            clock: clock, random: random, organization: organization, root: root, rootKey: rootKey,
            intermediate: intermediate, intermediateKey: intermediateKey, rootIssuer: signer, intermediateIssuer: intermediateIssuer)
    }

    /// A CSR for an agent, signed by `key`, as `agent enroll` builds it (docs/identity.md):
    /// `CN={hostname}` (none over 64 characters) and the `DNS:` + `urn:uuid:` SANs.
    public static func agentCSR(hostname: String, uuid: String, key: Certificate.PrivateKey) throws -> CertificateSigningRequest {
        let identity = try AgentIdentity(hostname: hostname, uuid: uuid)
        return try CertificateSigningRequest(
            version: .v1, subject: identity.requestSubject(), privateKey: key,
            attributes: CertificateSigningRequest.Attributes([
                .init(ExtensionRequest(extensions: try Certificate.Extensions { SubjectAlternativeNames(identity.subjectAlternativeNames) }))
            ]))
    }

    /// A CSR of the earlier scheme: subject `CN=agent-{hostname}-{uuid}` only, no SAN.
    public static func legacyAgentCSR(hostname: String, uuid: String, key: Certificate.PrivateKey) throws -> CertificateSigningRequest {
        try CertificateSigningRequest(
            version: .v1, subject: DistinguishedName { CommonName("agent-\(hostname)-\(uuid)") },
            privateKey: key, attributes: CertificateSigningRequest.Attributes())
    }

    /// Issues an agent certificate the way the appliance does: key → CSR → policy → profile → issuer.
    public func issueAgent(
        hostname: String, uuid: String = UUID().uuidString.lowercased(), algorithm: KeyAlgorithm = .p256,
        pointers: RevocationPointers = .none
    ) async throws -> Leaf {
        let key = try algorithm.generatePrivateKey()
        let csr = try Self.agentCSR(hostname: hostname, uuid: uuid, key: key)
        let decision = try CSRPolicy(purpose: .agent).evaluate(PEMCodec.der(csr))
        guard let identity = decision.review?.agentIdentity else {
            throw PKIError.policy(decision.rejectionReason ?? "agent CSR was not accepted")
        }
        let profile = try AgentLeafProfile(identity: identity, organization: organization, pointers: pointers)
        let certificate = try await intermediateIssuer.issue(intermediateIssuer.prepare(profile: profile, csr: csr))
        return Leaf(certificate: certificate, privateKey: key)
    }

    /// Issues a server certificate for `fqdn` (plus `dnsNames` and IPv4/IPv6 `ipAddresses`).
    public func issueServer(fqdn: String, dnsNames: [String] = [], ipAddresses: [[UInt8]] = [[127, 0, 0, 1]], algorithm: KeyAlgorithm = .p256)
        async throws -> Leaf
    {
        let key = try algorithm.generatePrivateKey()
        let profile = try ServerLeafProfile(fqdn: fqdn, organization: organization, dnsNames: dnsNames, ipAddresses: ipAddresses)
        let certificate = try await intermediateIssuer.issue(intermediateIssuer.prepare(profile: profile, subjectPublicKey: key.publicKey))
        return Leaf(certificate: certificate, privateKey: key)
    }

    /// Issues an administrator client certificate `CN=admin-<name>`.
    public func issueAdmin(name: String, algorithm: KeyAlgorithm = .p256) async throws -> Leaf {
        let key = try algorithm.generatePrivateKey()
        let profile = try AdminClientProfile(name: name, organization: organization)
        let certificate = try await intermediateIssuer.issue(intermediateIssuer.prepare(profile: profile, subjectPublicKey: key.publicKey))
        return Leaf(certificate: certificate, privateKey: key)
    }

    /// Writes `root.pem`, `intermediate.pem` and `chain.pem` (intermediate then root) to `directory`.
    public func writePEM(to directory: String) throws {
        try PEMCodec.pem(root).write(toFile: "\(directory)/root.pem", atomically: true, encoding: .utf8)
        try PEMCodec.pem(intermediate).write(toFile: "\(directory)/intermediate.pem", atomically: true, encoding: .utf8)
        try PEMCodec.pemChain([intermediate, root]).write(toFile: "\(directory)/chain.pem", atomically: true, encoding: .utf8)
    }

    /// Writes `<name>.pem` (certificate) and `<name>.key` (unencrypted private key, mode 0600).
    public static func write(_ leaf: Leaf, name: String, to directory: String) throws {
        try PEMCodec.pem(leaf.certificate).write(toFile: "\(directory)/\(name).pem", atomically: true, encoding: .utf8)
        let keyPath = "\(directory)/\(name).key"
        try leaf.privateKey.serializeAsPEM().pemString.appending("\n").write(toFile: keyPath, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyPath)
    }
}
