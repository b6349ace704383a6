import ApplianceKit
import Authority
import CAStore
import Crypto
import Foundation
import Logging
import PKICore
import Registration
import SwiftASN1
import TestSupport
import X509

/// The in-process authority fixture: an `IntermediateCA` and its RA over a real SQLite file, a
/// run-time test PKI (P-384 root, P-256 intermediate; `root.pem`, `intermediate.pem`, `chain.pem`
/// in ``directory``) with a fixed clock, a state layout for what the revocation services write,
/// and the CRL publisher and OCSP responder over the same store.
struct CAHarness {
    let directory: TemporaryDirectory
    let pki: TestPKI
    let state: StateDirectory
    /// The SQLite file behind ``store``.
    let database: String
    let store: SQLiteStore
    let ca: IntermediateCA
    let metrics: ApplianceMetrics
    /// Every event the RA emitted, in order.
    let events: EventRecorder
    /// The intermediate's subject key identifier (hex), as certificate rows record their issuer.
    let issuerSKI: String
    static let admin = AdminCaller(uid: 4242, pid: 77)

    /// `storeInState`: the database at `<state>/db/rootkeeper.sqlite`, where the appliance keeps
    /// it (for fixtures of a whole state directory), instead of beside the state.
    static func make(now: Date = Date(), storeInState: Bool = false) async throws -> CAHarness {
        let directory = try TemporaryDirectory("rootkeeper-ca")
        let pki = try await TestPKI.make(now: now)
        try pki.writePEM(to: directory.path)
        let state = StateDirectory(path: directory.file("state"))
        try state.create()
        let database = storeInState ? state.path("db", "rootkeeper.sqlite") : directory.file("rootkeeper.sqlite")
        let store = try SQLiteStore(path: database)
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
        guard let ski = try pki.intermediate.extensions.subjectKeyIdentifier else { throw TestFailure("intermediate has no SKI") }
        return CAHarness(
            directory: directory, pki: pki, state: state, database: database, store: store, ca: ca, metrics: metrics, events: events,
            issuerSKI: PKICore.Hex.encode(ski.keyIdentifier))
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

    // MARK: Revocation services over the same store

    /// Issues a server leaf and records it in the store the way the CA does (reserve, then issued).
    func issue(_ name: String) async throws -> TestPKI.Leaf {
        let leaf = try await pki.issueServer(fqdn: "\(name).example.test")
        let certificate = leaf.certificate
        let serial = PKICore.Hex.encode(certificate.serialNumber.bytes)
        try await store.reserveIssuance(
            CertificateRecord(
                serial: serial, issuerSKI: issuerSKI, type: .server, subject: certificate.subject.description,
                notBefore: certificate.notValidBefore, notAfter: certificate.notValidAfter,
                tbsSHA256: PKICore.Hex.encode(SHA256.hash(data: Array(certificate.tbsCertificateBytes))),
                reservedAt: pki.clock.now()))
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        try await store.recordIssued(serial: serial, certificateDER: serializer.serializedBytes, at: pki.clock.now())
        return leaf
    }

    /// Revokes in the store only (the coordinator/publisher is told separately by the test).
    @discardableResult
    func revokeInStore(_ leaf: TestPKI.Leaf, reason: Registration.RevocationReason = .keyCompromise) async throws -> RevocationRecord {
        try await store.revoke(
            RevocationRecord(
                serial: Self.serialHex(leaf), issuerSKI: issuerSKI, revokedAt: pki.clock.now(), reason: reason)
        ).record
    }

    static func serialHex(_ leaf: TestPKI.Leaf) -> String { PKICore.Hex.encode(leaf.certificate.serialNumber.bytes) }

    /// The serial as openssl prints it in `crl -text` (upper-case hex, no leading 00 octet).
    static func opensslSerial(_ leaf: TestPKI.Leaf) -> String {
        PKICore.Hex.encode(leaf.certificate.serialNumber.bytes.drop(while: { $0 == 0 })).uppercased()
    }

    func publisher(clock: (any PKIClock)? = nil, configuration: CRLPublisher.Configuration? = nil) throws -> CRLPublisher {
        try CRLPublisher(
            issuerCertificate: pki.intermediate, privateKey: pki.intermediateKey, rootCertificate: pki.root,
            store: store, expiry: store, stateDirectory: state, configuration: configuration ?? CRLPublisher.Configuration(),
            clock: clock ?? pki.clock, metrics: metrics, logger: Logger(label: "test.crl"))
    }

    /// An OCSP responder over `store` (lookups) whose responder certificate is issued through
    /// `authority` (the harness's RA unless given), as `ApplianceRuntime` attaches it.
    func responder(
        configuration: OCSPResponder.Configuration? = nil, store: (any RevocationStore & Registration.CertificateStore)? = nil,
        authority: RegistrationAuthority? = nil
    ) async throws -> OCSPResponder {
        let responder = try OCSPResponder(
            issuerCertificate: pki.intermediate, privateKey: pki.intermediateKey, organization: pki.organization,
            responderName: "ocsp.example.test", store: store ?? self.store, configuration: configuration ?? OCSPResponder.Configuration(),
            clock: pki.clock, random: SystemRandomSource(), metrics: metrics, logger: Logger(label: "test.ocsp"))
        await responder.attach(authority: authority ?? ca.authority)
        return responder
    }

    var intermediateCRLPath: String { state.path("crl", "intermediate.crl") }

    func writeLeaf(_ leaf: TestPKI.Leaf, name: String) throws -> String {
        let path = directory.file("\(name).pem")
        try PEMCodec.pem(leaf.certificate).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func remove() { directory.remove() }
}
