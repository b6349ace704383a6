import Crypto
import Foundation
import Logging
import PKICore
import Registration
import SwiftASN1
import X509

/// Holds the delegated OCSP responder certificate (RFC 6960 §4.2.2.2) and its key: issued by the
/// intermediate itself under `OCSPSignerProfile` (EKU OCSPSigning, id-pkix-ocsp-nocheck, short
/// validity) on first use and re-issued when less than ``renewBefore`` remains. The key lives only
/// in memory: a restart issues a new one, so no responder key is ever stored on disk.
///
/// An authority concern (it signs a certificate with the intermediate key), so it lives with the CA;
/// the OCSP responder in ApplianceKit only asks it for the current signer.
///
/// The issuance follows the CA's path (docs/conventions.md#signing-path): reserve the serial in the store, sign, record.
public actor OCSPSignerManager {
    let issuer: CertificateIssuer
    let profile: OCSPSignerProfile
    let store: any Registration.CertificateStore
    let issuerSKI: String
    let clock: any PKIClock
    let renewBefore: TimeInterval
    let logger: Logger
    /// The signer in use, if one was issued since start.
    public private(set) var current: OCSPResponseSigner?

    public init(
        issuer: CertificateIssuer, profile: OCSPSignerProfile, store: any Registration.CertificateStore, issuerSKI: String,
        clock: any PKIClock, renewBefore: TimeInterval, logger: Logger
    ) {
        self.issuer = issuer
        self.profile = profile
        self.store = store
        self.issuerSKI = issuerSKI
        self.clock = clock
        self.renewBefore = renewBefore
        self.logger = logger
    }

    /// The signer to use now, issuing a new responder certificate when needed.
    public func signer() async throws -> OCSPResponseSigner {
        let now = clock.now()
        if let current, now < current.responderCertificate.notValidAfter.addingTimeInterval(-renewBefore),
            now >= current.responderCertificate.notValidBefore
        {
            return current
        }
        let signer = try await issueSigner()
        current = signer
        return signer
    }

    /// Whether the next ``signer()`` call would re-issue.
    public func needsRenewal() -> Bool {
        guard let current else { return true }
        return clock.now() >= current.responderCertificate.notValidAfter.addingTimeInterval(-renewBefore)
    }

    private func issueSigner() async throws -> OCSPResponseSigner {
        let key = try KeyAlgorithm.p256.generatePrivateKey()
        let token = try issuer.prepare(profile: profile, subjectPublicKey: key.publicKey)
        let serial = PKICore.Hex.encode(token.serialNumber.bytes)
        let now = clock.now()
        try await store.reserveIssuance(
            CertificateRecord(
                serial: serial, issuerSKI: issuerSKI, type: .ocspSigner, subject: token.subject.description,
                notBefore: token.notValidBefore, notAfter: token.notValidAfter,
                tbsSHA256: PKICore.Hex.encode(SHA256.hash(data: token.tbsCertificateBytes)), reservedAt: now))
        let certificate = try await issuer.issue(token)
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        try await store.recordIssued(serial: serial, certificateDER: serializer.serializedBytes, at: clock.now())
        logger.info(
            "issued OCSP responder certificate",
            metadata: [
                "serial": "\(serial)", "notAfter": "\(certificate.notValidAfter)",
            ])
        return try OCSPResponseSigner(responderCertificate: certificate, privateKey: key, includeResponderCertificate: true)
    }
}
