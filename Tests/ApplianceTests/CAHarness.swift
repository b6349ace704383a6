import ApplianceKit
import Authority
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
    /// Every event the RA emitted, in order.
    let events: EventRecorder
    static let admin = AdminCaller(uid: 4242, pid: 77)

    static func make(now: Date = Date()) async throws -> CAHarness {
        let directory = try TemporaryDirectory("rootkeeper-ca")
        let pki = try await TestPKI.make(now: now)
        let store = try SQLiteStore(path: directory.file("rootkeeper.sqlite"))
        let settings = CASettings(
            organization: pki.organization, crlURL: "http://ca.example.test/crl/intermediate.crl",
            ocspURL: "http://ca.example.test/ocsp", caIssuersURL: "http://ca.example.test/ca/chain.pem", retryAfterSeconds: 30)
        let metrics = ApplianceMetrics()
        let events = EventRecorder()
        // The appliance's wiring in small: metrics hear the RA's events; the recorder shows tests
        // what every other subscriber (revocation coordinator, caches) would have been told.
        let authority = RegistrationAuthority(
            store: store, clock: pki.clock, random: SystemRandomSource(), events: AuthorityEventStream([metrics, events]))
        let ca = try IntermediateCA(
            authority: authority, store: store, issuer: pki.intermediateIssuer, root: pki.root, settings: settings,
            crlPublication: NoCRLPublication())
        return CAHarness(directory: directory, pki: pki, store: store, ca: ca, metrics: metrics, events: events)
    }

    /// A new agent key and its DER CSR.
    static func agentCSR(hostname: String, uuid: String = UUID().uuidString.lowercased()) throws -> (
        key: Certificate.PrivateKey, der: [UInt8], uuid: String
    ) {
        let key = try KeyAlgorithm.p256.generatePrivateKey()
        let csr = try TestPKI.agentCSR(hostname: hostname, uuid: uuid, key: key)
        return (key, try PEMCodec.der(csr), uuid)
    }

    /// Enrols with a fresh token and returns the certificate (fails the test otherwise).
    func enrollWithToken(hostname: String) async throws -> (certificate: Certificate, uuid: String) {
        let token = try await ca.createToken(hostname: hostname, caller: Self.admin)
        let request = try Self.agentCSR(hostname: hostname)
        let outcome = try await ca.enroll(csrDER: request.der, token: token, source: "127.0.0.1")
        guard case .issued(let certificate, _) = outcome else { throw TestFailure("expected issued, got \(outcome)") }
        return (certificate, request.uuid)
    }

    func authenticated(_ certificate: Certificate) throws -> AuthenticatedAgent {
        guard let identity = AgentSubject(certificate: certificate) else { throw TestFailure("not an agent certificate") }
        return AuthenticatedAgent(certificate: certificate, identity: identity)
    }

    /// A CA over this harness's store, PKI and policy whose RA announces on a stream of
    /// `subscribers` — for tests that wire subscribers as `ApplianceRuntime` does.
    func ca(announcingTo subscribers: [any AuthorityEventSubscriber], issuer: CertificateIssuer? = nil) throws -> IntermediateCA {
        let authority = RegistrationAuthority(
            store: store, clock: pki.clock, random: SystemRandomSource(), policy: ca.authority.policy,
            events: AuthorityEventStream(subscribers))
        return try IntermediateCA(
            authority: authority, store: store, issuer: issuer ?? pki.intermediateIssuer, root: pki.root, settings: ca.settings,
            crlPublication: NoCRLPublication())
    }

    func remove() { directory.remove() }
}
