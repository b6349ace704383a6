import ApplianceKit
import CAStore
import Crypto
import Foundation
import NIOConcurrencyHelpers
import PKICore
import Registration
import SwiftASN1
import TestSupport
import Testing
import X509

/// Issue 12 parts 2 and 5 on the real CA and SQLite file: a signature that completes after its
/// agent was revoked — or after its reservation was released as stale — is recorded revoked and
/// never handed out, and the revocation services are told. The intermediate key is a
/// `CustomPrivateKey` (the HSM road) held at a gate, so the signature lands exactly when wanted.
@Suite("A certificate signed too late is never handed out")
struct SigningWhileRevokedTests {
    /// Holds every signature while closed (a slow token).
    final class Gate: Sendable {
        private let state = NIOLockedValueBox<(closed: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
        func close() { state.withLockedValue { $0.closed = true } }
        func open() {
            let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
                state.closed = false
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        var waiting: Int { state.withLockedValue { $0.waiters.count } }
        func pass() async {
            await withCheckedContinuation { continuation in
                let wait = state.withLockedValue { state -> Bool in
                    guard state.closed else { return false }
                    state.waiters.append(continuation)
                    return true
                }
                if !wait { continuation.resume() }
            }
        }
    }

    struct GatedKey: CustomPrivateKey {
        let key: P256.Signing.PrivateKey
        let gate: Gate
        var publicKey: Certificate.PublicKey { Certificate.PublicKey(key.publicKey) }
        var defaultSignatureAlgorithm: Certificate.SignatureAlgorithm { .ecdsaWithSHA256 }
        var supportedSignatureAlgorithms: [Certificate.SignatureAlgorithm] { [.ecdsaWithSHA256] }
        func signSynchronously(bytes: some DataProtocol, signatureAlgorithm: Certificate.SignatureAlgorithm) throws -> Certificate.Signature {
            try Certificate.PrivateKey(key).sign(bytes: bytes, signatureAlgorithm: signatureAlgorithm)
        }
        func signAsynchronously(bytes: some DataProtocol & Sendable, signatureAlgorithm: Certificate.SignatureAlgorithm) async throws
            -> Certificate.Signature
        {
            await gate.pass()
            return try Certificate.PrivateKey(key).sign(bytes: bytes, signatureAlgorithm: signatureAlgorithm)
        }
        static func == (lhs: Self, rhs: Self) -> Bool { lhs.key.rawRepresentation == rhs.key.rawRepresentation }
        func hash(into hasher: inout Hasher) { hasher.combine(key.rawRepresentation) }
        static var defaultPEMDiscriminator: String { "PRIVATE KEY" }
        func serialize(into coder: inout DER.Serializer) throws { throw PKIError.unsupported("not exportable") }
    }

    /// Collects the serials the RA's event stream announces as revoked.
    struct RevokedSerialCollector: AuthorityEventSubscriber {
        let told: NIOLockedValueBox<[String]>
        func authorityEventOccurred(_ event: AuthorityEvent) async { told.withLockedValue { $0 += event.revokedSerials } }
    }

    /// A CA over SQLite whose intermediate key signs through `gate`; `told` collects the serials
    /// the CA reports to the revocation services.
    static func gatedCA(_ harness: CAHarness, gate: Gate, told: NIOLockedValueBox<[String]>) async throws -> IntermediateCA {
        let pki = harness.pki
        let key = P256.Signing.PrivateKey()
        let profile = try IntermediateCAProfile(
            subject: SubjectName.intermediate(name: "Gated", organization: pki.organization, unit: "PKI", country: "US"))
        let intermediate = try await pki.rootIssuer.issue(
            pki.rootIssuer.prepare(profile: profile, subjectPublicKey: Certificate.PublicKey(key.publicKey)))
        let issuer = try CertificateIssuer(
            issuerCertificate: intermediate, privateKey: Certificate.PrivateKey(GatedKey(key: key, gate: gate)),
            clock: pki.clock, random: SystemRandomSource())
        return try harness.ca(announcingTo: [RevokedSerialCollector(told: told)], issuer: issuer)
    }

    /// Starts `body` with the gate closed and waits until its serial is reserved and its signature held.
    static func holdSignature(_ harness: CAHarness, gate: Gate, _ body: @escaping @Sendable () async throws -> EnrollmentOutcome) async throws -> (
        Task<EnrollmentOutcome, any Error>, CertificateRecord
    ) {
        gate.close()
        let task = Task { try await body() }
        for _ in 0..<500 where gate.waiting == 0 { try await Task.sleep(for: .milliseconds(10)) }
        try #require(gate.waiting == 1, "the signature never reached the key")
        let reserved = try await harness.store.certificates(type: .agent).filter { $0.status == .reserved }
        try #require(reserved.count == 1)
        return (task, reserved[0])
    }

    @Test(
        "an agent revoked while its renewal is being signed: the certificate is recorded revoked, refused to the client, and the revocation services are told"
    )
    func revokedWhileSigning() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let gate = Gate()
        let told = NIOLockedValueBox<[String]>([])
        let ca = try await Self.gatedCA(harness, gate: gate, told: told)
        let token = try await ca.createToken(hostname: "late-1", caller: CAHarness.admin)
        let request = try CAHarness.agentCSR(hostname: "late-1")
        guard case .issued(let first, _) = try await ca.enroll(csrDER: request.der, token: token, source: "127.0.0.1") else {
            Issue.record("enrolment failed")
            return
        }
        harness.pki.clock.set(first.notValidAfter.addingTimeInterval(-10 * 86_400))
        let client = try harness.authenticated(first)
        let renewal = try CAHarness.agentCSR(hostname: "late-1", uuid: request.uuid)
        let (task, reserved) = try await Self.holdSignature(harness, gate: gate) { try await ca.reenroll(csrDER: renewal.der, client: client) }

        _ = try await ca.revokeAgent(id: request.uuid, reason: "keyCompromise", caller: CAHarness.admin)
        told.withLockedValue { $0 = [] }
        gate.open()
        guard case .rejected(let reason) = try await task.value else {
            Issue.record("a certificate signed for a revoked agent must not be handed out")
            return
        }
        #expect(reason.contains("was revoked while it was being signed"), "\(reason)")
        let recorded = try #require(try await harness.store.certificate(serial: reserved.serial))
        #expect(recorded.status == .revoked)
        #expect(recorded.certificateDER != nil, "the signed certificate is recorded (the store knows every signature)")
        #expect(told.withLockedValue { $0 } == [reserved.serial], "the revocation services must hear of the late certificate")
        #expect(try await harness.store.certificate(serial: IntermediateCA.serialHex(first))?.status == .revoked)
    }

    @Test("a signature that lands after its stale reservation was released is refused; the token it was given back enrols the same agent")
    func signedAfterRelease() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let gate = Gate()
        let told = NIOLockedValueBox<[String]>([])
        let ca = try await Self.gatedCA(harness, gate: gate, told: told)
        let token = try await ca.createToken(hostname: "slow-1", caller: CAHarness.admin)
        let request = try CAHarness.agentCSR(hostname: "slow-1")
        let (task, reserved) = try await Self.holdSignature(harness, gate: gate) {
            try await ca.enroll(csrDER: request.der, token: token, source: "127.0.0.1")
        }
        harness.pki.clock.set(harness.pki.clock.now() + 3600)
        let reaped = try await ca.authority.reapStaleReservations(reservedBefore: harness.pki.clock.now() - 60)
        #expect(reaped.map(\.certificate.serial) == [reserved.serial])
        gate.open()
        guard case .rejected = try await task.value else {
            Issue.record("a signature for a released reservation must not be handed out")
            return
        }
        #expect(told.withLockedValue { $0 }.contains(reserved.serial))
        // The token came back with the release: the same agent, same CSR, enrols.
        guard case .issued(let certificate, _) = try await ca.enroll(csrDER: request.der, token: token, source: "127.0.0.1") else {
            Issue.record(
                "the same agent must enrol with the token the release gave back: \(String(describing: try? await ca.enroll(csrDER: request.der, token: token, source: "127.0.0.1")))"
            )
            return
        }
        #expect(try await ca.revocationStatus(of: certificate) == .good)
    }
}
