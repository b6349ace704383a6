import Crypto
import Foundation
import PKICore
import Registration
import X509

extension IntermediateCA: CertificateAuthorityService {
    public func caCertificates() async throws -> [Certificate] {
        let now = clock.now()
        let overlapping = roster.retiring.filter { $0.notValidAfter > now }
        return [intermediate] + overlapping + [root]
    }

    /// Nothing to ask for: the profile decides every extension (RFC 7030 §4.5.2 allows 204).
    public func csrAttributes() async throws -> [UInt8]? { nil }

    public func enroll(csrDER: [UInt8], token: String?, source: String) async throws -> EnrollmentOutcome {
        let (review, identity): (CSRReview, RequestIdentity)
        switch try Self.agentRequest(csrDER: csrDER) {
        case .rejected(let reason): return .rejected(reason: reason)
        case .accepted(let accepted, let named): (review, identity) = (accepted, named)
        }
        let decision = try await authority.evaluateEnrollment(EnrollmentRequest(identity: identity, token: token, sourceAddress: source))
        switch decision {
        case .issue(let authorization):
            return try await issueAgent(review: review, authorization: authorization)
        case .pending(let registration):
            return .pending(registrationID: registration.id.uuidString.lowercased(), retryAfterSeconds: settings.retryAfterSeconds)
        case .alreadyIssued(let record):
            // RFC 7030 §4.2.3: the same request after approval answers with the certificate.
            guard let der = record.certificateDER else {
                throw ApplianceError.unavailable("certificate \(record.serial) is reserved but not recorded as issued")
            }
            return .issued(certificate: try Certificate(derEncoded: der), chain: chain)
        case .rejected(let registration):
            let by = registration.decidedBy == RegistrationAuthority.systemActor ? "the appliance" : "an administrator"
            return .rejected(
                reason: "registration \(registration.id.uuidString.lowercased()) was rejected by \(by): \(registration.reason ?? "no reason given")")
        case .refused(let refusal):
            return .rejected(reason: Self.describe(refusal))
        }
    }

    public func reenroll(csrDER: [UInt8], client: AuthenticatedAgent) async throws -> EnrollmentOutcome {
        // The CSR must repeat the certificate's identity: the RA decides that (``IdentityMismatch``),
        // against the agent it recorded for the presented certificate.
        let (review, identity): (CSRReview, RequestIdentity)
        switch try Self.agentRequest(csrDER: csrDER) {
        case .rejected(let reason): return .rejected(reason: reason)
        case .accepted(let accepted, let named): (review, identity) = (accepted, named)
        }
        let decision = try await authority.evaluateRenewal(presentedSerial: Self.serialHex(client.certificate), request: identity)
        switch decision {
        case .issue(let authorization): return try await issueAgent(review: review, authorization: authorization)
        case .redeliver(let successor):
            // A retry whose answer was lost: the successor already issued for this key, again.
            guard let der = successor.certificateDER else {
                throw ApplianceError.unavailable("certificate \(successor.serial) is recorded without its certificate")
            }
            return .issued(certificate: try Certificate(derEncoded: der), chain: chain)
        case .refused(.identityMismatch(let mismatch)): return .identityMismatch(reason: mismatch.description)
        case .refused(let refusal): return .rejected(reason: Self.describe(refusal))
        }
    }

    public func agentStatus(client: AuthenticatedAgent) async throws -> AgentStatus {
        let report: CertificateStatusReport
        do {
            report = try await authority.status(presentedSerial: Self.serialHex(client.certificate))
        } catch let error as StoreError where error.code == .notFound {
            throw ApplianceError.notFound(error.reason)
        }
        let record = report.certificate
        return AgentStatus(
            agentID: record.agentID?.description ?? client.identity.uuid, hostname: client.identity.hostname,
            serialNumber: record.serial, notBefore: record.notBefore, notAfter: record.notAfter,
            state: report.revocation != nil ? CertificateRecord.Status.revoked.rawValue : record.status.rawValue,
            renewNow: report.renewNow, renewFrom: report.renewFrom)
    }

    /// The signing path (docs/conventions.md#signing-path): prepare (build + throwaway-sign + lint), persist the
    /// reservation with what the authorisation consumes, sign, record. A failure after the
    /// reservation (token pulled, request cancelled by its timeout, store error) releases the
    /// reservation at once — revoked, token given back, approved registration re-opened — and
    /// the failure itself is what the caller sees; a process killed in between leaves a
    /// `reserved` row that ``ReservationReaperService`` resolves the same way.
    func issueAgent(review: CSRReview, authorization: IssuanceAuthorization) async throws -> EnrollmentOutcome {
        guard let name = review.agentIdentity else { return .rejected(reason: "the CSR does not name an agent identity") }
        let profile = try AgentLeafProfile(
            identity: name, organization: settings.organization, agentsUnit: settings.agentsUnit,
            pointers: try settings.pointers(), validity: settings.agentValidity)
        let token = try issuer.prepare(profile: profile, csr: review.csr)
        let record = reservation(for: token, type: .agent)
        do {
            _ = try await authority.reserveIssuance(authorization, certificate: record)
        } catch let error as StoreError where error.code == .tokenUnavailable {
            // A concurrent request consumed the same token first (RFC 7030 gives no second chance).
            return .rejected(reason: "the enrolment token is no longer valid: \(error.reason)")
        }
        let certificate: Certificate
        let completion: IssuanceCompletion
        do {
            certificate = try await issuer.issue(token)
            completion = try await authority.completeIssuance(serial: record.serial, certificateDER: try PEMCodec.der(certificate))
        } catch {
            throw await releaseAfterFailure(serial: record.serial, error)
        }
        switch completion {
        case .issued:
            // Counted by the metrics subscriber of the RA's event stream, once, where it was recorded.
            return .issued(certificate: certificate, chain: chain)
        case .revoked:
            // Fail closed: the certificate exists and is revoked; every revocation consumer
            // (OCSP cache, CRL, mTLS caches, open connections) heard of it from the RA's unit of
            // work, and the agent gets a refusal, never the certificate.
            // Either the agent was revoked, or the signature took so long that the reservation was
            // released (then the agent may simply ask again).
            return .rejected(
                reason:
                    "the certificate for agent \(authorization.identity.agentID) was revoked while it was being signed (agent revoked, or signing outlasted its reservation)"
            )
        }
    }

    /// Releases the reservation `serial` after `error` and returns the error to throw: `error`
    /// itself, or — if the release failed too — an error that names both, so neither is hidden.
    /// The release runs in its own task: a request cancelled by its timeout must still release.
    public func releaseAfterFailure(serial: String, _ error: any Error) async -> any Error {
        await Self.releaseAfterFailure(serial: serial, error, authority: authority)
    }

    /// ``releaseAfterFailure(serial:_:)`` through `authority`, for issuers of the appliance's own
    /// certificates that have no CA at hand (the OCSP responder's `OCSPSignerManager`).
    static func releaseAfterFailure(serial: String, _ error: any Error, authority: RegistrationAuthority) async -> any Error {
        let cause = "signing or recording failed: \(error)"
        let release = Task { try await authority.releaseReservation(serial: serial, cause: cause) }
        do {
            _ = try await release.value
            return error
        } catch let releaseError as StoreError where releaseError.code == .invalidState {
            // Completed after all (the failure came after the record): nothing to give back.
            return error
        } catch let releaseError {
            return ApplianceError.unavailable(
                "\(error); releasing reservation \(serial) also failed (\(releaseError)), the reservation reaper will resolve it")
        }
    }

    /// The reservation row for a prepared certificate: serial, TBS hash, validity, subject.
    public func reservation(for token: borrowing IssuanceToken, type: CertificateRecord.CertificateType) -> CertificateRecord {
        CertificateRecord(
            serial: CertificateRecord.serialHex(contentBytes: token.serialNumber.bytes), issuerSKI: issuerSKI, type: type,
            subject: String(describing: token.subject), notBefore: token.notValidBefore, notAfter: token.notValidAfter,
            tbsSHA256: PKICore.Hex.encode(SHA256.hash(data: token.tbsCertificateBytes)), reservedAt: clock.now())
    }
}
