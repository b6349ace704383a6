import Crypto
import Foundation
import PKICore
import SwiftASN1
import TestSupport
import Testing
import X509

@Suite("Issuing with a CustomPrivateKey (the HSM road)")
struct CustomKeyIssuanceTests {
    @Test("issue() signs through the key's asynchronous path, off the cooperative pool, and the chain verifies")
    func asyncCustomKeySigns() async throws {
        let pki = try await TestPKI.make()
        let software = try P256.Signing.PrivateKey(pemRepresentation: pki.intermediateKey.serializeAsPEM().pemString)
        let counter = SignCounter()
        let hsmLike = Certificate.PrivateKey(OffPoolP256Key(key: software, counter: counter))
        let issuer = try CertificateIssuer(issuerCertificate: pki.intermediate, privateKey: hsmLike, clock: pki.clock, random: pki.random)
        let key = try KeyAlgorithm.p256.generatePrivateKey()
        let profile = try AgentLeafProfile(
            identity: AgentIdentity(hostname: "hsm-host", uuid: "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"), organization: "O")
        let certificate = try await issuer.issue(issuer.prepare(profile: profile, subjectPublicKey: key.publicKey))
        #expect(counter.asyncCalls == 1)
        #expect(counter.syncCalls == 0)
        let result = try OpenSSL.verify(root: pki.root, intermediate: pki.intermediate, leaf: certificate)
        #expect(result.succeeded, "\(result.output)")
    }
}

final class SignCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var async = 0, sync = 0
    var asyncCalls: Int { lock.withLock { async } }
    var syncCalls: Int { lock.withLock { sync } }
    func recordAsync() { lock.withLock { async += 1 } }
    func recordSync() { lock.withLock { sync += 1 } }
}

/// A P-256 key that, like a PKCS#11 key, does its signing on a separate dispatch queue.
struct OffPoolP256Key: CustomPrivateKey {
    let key: P256.Signing.PrivateKey
    let counter: SignCounter
    var publicKey: Certificate.PublicKey { Certificate.PublicKey(key.publicKey) }
    var defaultSignatureAlgorithm: Certificate.SignatureAlgorithm { .ecdsaWithSHA256 }
    var supportedSignatureAlgorithms: [Certificate.SignatureAlgorithm] { [.ecdsaWithSHA256] }

    func signSynchronously(bytes: some DataProtocol, signatureAlgorithm: Certificate.SignatureAlgorithm) throws -> Certificate.Signature {
        counter.recordSync()
        return try Certificate.PrivateKey(key).sign(bytes: bytes, signatureAlgorithm: signatureAlgorithm)
    }

    func signAsynchronously(bytes: some DataProtocol & Sendable, signatureAlgorithm: Certificate.SignatureAlgorithm) async throws
        -> Certificate.Signature
    {
        counter.recordAsync()
        let data = Array(bytes)
        let key = key
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue(label: "fake-hsm").async {
                continuation.resume(with: Result { try Certificate.PrivateKey(key).sign(bytes: data, signatureAlgorithm: signatureAlgorithm) })
            }
        }
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.key.rawRepresentation == rhs.key.rawRepresentation }
    func hash(into hasher: inout Hasher) { hasher.combine(key.rawRepresentation) }
    static var defaultPEMDiscriminator: String { "PRIVATE KEY" }
    func serialize(into coder: inout DER.Serializer) throws { throw PKIError.unsupported("not exportable") }
}
