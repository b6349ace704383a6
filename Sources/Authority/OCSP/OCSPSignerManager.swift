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
/// The issuance follows the CA's path for the appliance's own certificates (docs/conventions.md#signing-path):
/// reserved, then recorded, through the RA's unit of work (``RegistrationAuthority/reserveOwnCertificate(_:details:by:)``),
/// so each responder certificate is audited and announced once as ``AuthorityEvent/issued(_:renewal:)``
/// like every other issuance (docs/architecture.md#event-stream). A signing or recording failure releases
/// the reservation (its serial revoked, never reused), so the next call can issue afresh.
public actor OCSPSignerManager {
    let issuer: CertificateIssuer
    let profile: OCSPSignerProfile
    /// The RA that reserves and records the responder certificate; set by ``attach(_:)`` once the
    /// RA exists (its event stream reaches the OCSP responder, so the responder is built first).
    var authority: RegistrationAuthority?
    let issuerSKI: String
    let clock: any PKIClock
    let renewBefore: TimeInterval
    let logger: Logger
    /// The signer in use, if one was issued since start.
    public private(set) var current: OCSPResponseSigner?

    public init(
        issuer: CertificateIssuer, profile: OCSPSignerProfile, issuerSKI: String,
        clock: any PKIClock, renewBefore: TimeInterval, logger: Logger
    ) {
        self.issuer = issuer
        self.profile = profile
        self.issuerSKI = issuerSKI
        self.clock = clock
        self.renewBefore = renewBefore
        self.logger = logger
    }

    /// Issues through `authority` from now on. Until then ``signer()`` refuses to issue (fail
    /// closed: no responder certificate outside the RA's audit and event stream).
    public func attach(_ authority: RegistrationAuthority) {
        self.authority = authority
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
        guard let authority else {
            throw PKIError(
                .signingFailure,
                "the OCSP responder has no registration authority to record its certificate through; attach it before the first request")
        }
        let key = try KeyAlgorithm.p256.generatePrivateKey()
        let token = try issuer.prepare(profile: profile, subjectPublicKey: key.publicKey)
        let serial = CertificateRecord.serialHex(contentBytes: token.serialNumber.bytes)
        let reserved = try await authority.reserveOwnCertificate(
            CertificateRecord(
                serial: serial, issuerSKI: issuerSKI, type: .ocspSigner, subject: token.subject.description,
                notBefore: token.notValidBefore, notAfter: token.notValidAfter,
                tbsSHA256: PKICore.Hex.encode(SHA256.hash(data: token.tbsCertificateBytes)), reservedAt: clock.now()),
            details: ["responder": profile.responderName])
        let certificate: Certificate
        do {
            certificate = try await issuer.issue(token)
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            try await authority.recordOwnCertificate(reserved, certificateDER: serializer.serializedBytes)
        } catch {
            throw await IntermediateCA.releaseAfterFailure(serial: serial, error, authority: authority)
        }
        logger.info(
            "issued OCSP responder certificate",
            metadata: [
                "serial": "\(serial)", "notAfter": "\(certificate.notValidAfter)",
            ])
        return try OCSPResponseSigner(responderCertificate: certificate, privateKey: key, includeResponderCertificate: true)
    }
}
