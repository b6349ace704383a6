import ApplianceKit
import CAStore
import Foundation
import PKICore
import Registration
import TestSupport
import X509

/// An `IntermediateCA` over a real SQLite file, with a run-time test PKI and a fixed clock.
struct CAHarness {
    let directory: TemporaryDirectory
    let pki: TestPKI
    let store: SQLiteStore
    let ca: IntermediateCA
    let metrics: ApplianceMetrics
    static let admin = AdminCaller(uid: 4242, pid: 77)

    static func make(now: Date = Date()) async throws -> CAHarness {
        let directory = try TemporaryDirectory("rootkeeper-ca")
        let pki = try await TestPKI.make(now: now)
        let store = try SQLiteStore(path: directory.file("rootkeeper.sqlite"))
        let authority = RegistrationAuthority(store: store, clock: pki.clock, random: SystemRandomSource())
        let settings = CASettings(
            organization: pki.organization, crlURL: "http://ca.example.test/crl/intermediate.crl",
            ocspURL: "http://ca.example.test/ocsp", caIssuersURL: "http://ca.example.test/ca/chain.pem", retryAfterSeconds: 30)
        let metrics = ApplianceMetrics()
        let ca = try IntermediateCA(authority: authority, issuer: pki.intermediateIssuer, root: pki.root, settings: settings, metrics: metrics)
        return CAHarness(directory: directory, pki: pki, store: store, ca: ca, metrics: metrics)
    }

    /// A new agent key and its DER CSR.
    static func agentCSR(hostname: String, uuid: String = UUID().uuidString.lowercased()) throws -> (key: Certificate.PrivateKey, der: [UInt8], uuid: String) {
        let key = try KeyAlgorithm.p256.generatePrivateKey()
        let csr = try TestPKI.agentCSR(hostname: hostname, uuid: uuid, key: key)
        return (key, try PEMCodec.der(csr), uuid)
    }

    /// Enrols with a fresh token and returns the certificate (fails the test otherwise).
    func enrollWithToken(hostname: String) async throws -> (certificate: Certificate, uuid: String) {
        let token = try await ca.createToken(hostname: hostname, caller: Self.admin)
        let request = try Self.agentCSR(hostname: hostname)
        let outcome = try await ca.enroll(ESTRequest(csrDER: request.der, token: token, source: "127.0.0.1"))
        guard case .issued(let certificate, _) = outcome else { throw TestFailure("expected issued, got \(outcome)") }
        return (certificate, request.uuid)
    }

    func authenticated(_ certificate: Certificate) throws -> AuthenticatedAgent {
        guard let identity = AgentSubject(certificate: certificate) else { throw TestFailure("not an agent certificate") }
        return AuthenticatedAgent(certificate: certificate, identity: identity)
    }

    func remove() { directory.remove() }
}

/// The HTTP layer's enrolment request (Registration has its own `EnrollmentRequest`).
typealias ESTRequest = ApplianceKit.EnrollmentRequest

