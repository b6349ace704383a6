import ApplianceKit
import CAStore
import Crypto
import Foundation
import Logging
import PKICore
import Registration
import SwiftASN1
import TestSupport
import X509

/// Shared set-up for the CRL publisher and OCSP responder tests: a fresh temp directory with a
/// state layout, a real SQLite store file, a run-time PKI (P-384 root, P-256 intermediate) with
/// `root.pem`, `intermediate.pem`, `chain.pem`, and helpers to issue and revoke through the store.
struct RevocationHarness {
    let directory: TemporaryDirectory
    let pki: TestPKI
    let state: StateDirectory
    let store: SQLiteStore
    let metrics: ApplianceMetrics
    let issuerSKI: String

    static func make() async throws -> RevocationHarness {
        let directory = try TemporaryDirectory("revsvc")
        let pki = try await TestPKI.make()
        try pki.writePEM(to: directory.path)
        let state = StateDirectory(path: directory.file("state"))
        try state.create()
        let store = try SQLiteStore(path: state.path("db", "rootkeeper.sqlite"))
        guard let ski = try pki.intermediate.extensions.subjectKeyIdentifier else { throw TestFailure("intermediate has no SKI") }
        return RevocationHarness(
            directory: directory, pki: pki, state: state, store: store, metrics: ApplianceMetrics(),
            issuerSKI: PKICore.Hex.encode(ski.keyIdentifier))
    }

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

    func responder(
        configuration: OCSPResponder.Configuration? = nil, store: (any RevocationStore & Registration.CertificateStore)? = nil
    ) throws -> OCSPResponder {
        try OCSPResponder(
            issuerCertificate: pki.intermediate, privateKey: pki.intermediateKey, organization: pki.organization,
            responderName: "ocsp.example.test", store: store ?? self.store, configuration: configuration ?? OCSPResponder.Configuration(),
            clock: pki.clock, random: SystemRandomSource(), metrics: metrics, logger: Logger(label: "test.ocsp"))
    }

    var intermediateCRLPath: String { state.path("crl", "intermediate.crl") }

    func writeLeaf(_ leaf: TestPKI.Leaf, name: String) throws -> String {
        let path = directory.file("\(name).pem")
        try PEMCodec.pem(leaf.certificate).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func remove() { directory.remove() }
}
