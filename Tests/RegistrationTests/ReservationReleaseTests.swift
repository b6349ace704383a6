import CAStore
import Foundation
import PKICore
import Registration
import TestSupport
import Testing

/// Issue 12 part 2: a reservation whose signature never came (token pulled, request cancelled,
/// process killed) gives back what it consumed, so the same agent can try again.
@Suite("Failed reservations are released")
struct ReservationReleaseTests {
    /// Reserves like the CA does and returns the draft's serial, without completing it.
    func reserve(_ h: RAHarness, _ authorization: IssuanceAuthorization) async throws -> String {
        let serial = CertificateRecord.serialHex(contentBytes: [0x02] + h.random.bytes(8))
        let draft = CertificateRecord(
            serial: serial, issuerSKI: RAHarness.issuer, type: .agent, subject: "CN=x",
            notBefore: h.clock.now(), notAfter: h.clock.now() + 90 * RAHarness.day,
            tbsSHA256: EnrollmentToken.digest(of: serial), reservedAt: h.clock.now())
        _ = try await h.ra.reserveIssuance(authorization, certificate: draft)
        return serial
    }

    @Test("a token spent by a failed signature is given back and the same agent enrols with it", arguments: StoreKind.allCases)
    func tokenGivenBack(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let token = try await h.ra.createToken(hostname: "web1", by: "admin")
        let request = EnrollmentRequest(identity: h.identity("web1", agent: 1), token: token, sourceAddress: nil)
        guard case .issue(let authorization) = try await h.ra.evaluateEnrollment(request) else {
            Issue.record("expected issuance")
            return
        }
        let failed = try await reserve(h, authorization)
        // Without the release the token is spent and the hostname held by a certificate-less agent.
        #expect(try await h.ra.evaluateEnrollment(request) == .refused(.invalidToken("enrolment token was already used")))

        let released = try await h.ra.releaseReservation(serial: failed, cause: "CKR_DEVICE_REMOVED")
        #expect(released.restoredToken == EnrollmentToken.digest(of: token))
        #expect(released.revocation.newlyRevoked)
        #expect(try await h.store.certificate(serial: failed)?.status == .revoked)
        guard case .issue(let again) = try await h.ra.evaluateEnrollment(request) else {
            Issue.record("the same agent must be able to enrol again with the same token")
            return
        }
        let issued = try await h.issue(again)
        #expect(issued.status == .issued)
        // Now the token is spent for good: a certificate was issued.
        #expect(
            try await h.ra.evaluateEnrollment(EnrollmentRequest(identity: h.identity("web1", agent: 2), token: token, sourceAddress: nil))
                == .refused(.invalidToken("enrolment token was already used")))
        let actions = try await h.store.auditEvents(afterSeq: 0, limit: 100).map(\.action)
        #expect(actions.contains("certificate.reservation.released"))
    }

    @Test("an approved registration whose signature failed is re-opened and issued on the next identical request", arguments: StoreKind.allCases)
    func registrationReopened(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let request = EnrollmentRequest(identity: h.identity("db1", agent: 3), token: nil, sourceAddress: nil)
        guard case .pending(let registration) = try await h.ra.evaluateEnrollment(request) else {
            Issue.record("expected a pending registration")
            return
        }
        _ = try await h.ra.approve(registrationID: registration.id, by: "admin")
        guard case .issue(let authorization) = try await h.ra.evaluateEnrollment(request) else {
            Issue.record("expected issuance after approval")
            return
        }
        let failed = try await reserve(h, authorization)
        let released = try await h.ra.releaseReservation(serial: failed, cause: "cancelled")
        #expect(released.reopenedRegistration == registration.id)
        guard case .issue(let again) = try await h.ra.evaluateEnrollment(request) else {
            Issue.record("the approved registration must be issued on the next identical request")
            return
        }
        #expect(try await h.issue(again).status == .issued)
    }

    @Test("a renewal whose signature failed leaves no live successor: the renewal is retried", arguments: StoreKind.allCases)
    func renewalRetried(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let first = try await h.enrol("web1", agent: 1)
        h.clock.advance(by: 70 * RAHarness.day)
        let identity = h.identity("web1", agent: 1, key: "k2")
        let authorization = try await h.renewal(of: first.serial, identity)
        let failed = try await reserve(h, authorization)
        // The trap without a release: "already has a successor".
        let blocked = await #expect(throws: StoreError.self) { _ = try await reserve(h, authorization) }
        #expect(blocked?.code == .conflict)

        _ = try await h.ra.releaseReservation(serial: failed, cause: "CKR_DEVICE_REMOVED")
        guard case .issue(let again) = try await h.ra.evaluateRenewal(presentedSerial: first.serial, request: identity) else {
            Issue.record("the renewal must be possible again")
            return
        }
        let renewed = try await h.issue(again)
        #expect(renewed.predecessorSerial == first.serial)
        #expect(try await h.store.certificate(serial: first.serial)?.status == .superseded)
    }

    @Test("the reaper releases only reservations older than its cutoff, and a late signature is never handed out", arguments: StoreKind.allCases)
    func reaperAndLateSignature(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let first = try await h.enrol("web1", agent: 1)
        h.clock.advance(by: 70 * RAHarness.day)
        guard
            case .issue(let authorization) = try await h.ra.evaluateRenewal(
                presentedSerial: first.serial, request: h.identity("web1", agent: 1, key: "k2"))
        else {
            Issue.record("expected renewal")
            return
        }
        let stale = try await reserve(h, authorization)
        h.clock.advance(by: 120)
        let fresh = try await reserve(h, try await tokenAuthorization(h, "web2", agent: 2))
        let reaped = try await h.ra.reapStaleReservations(reservedBefore: h.clock.now() - 60)
        #expect(reaped.map(\.certificate.serial) == [stale])
        #expect(try await h.store.certificate(serial: fresh)?.status == .reserved)

        // The signature of the reaped reservation arrives after all: recorded, revoked, not handed out,
        // and the predecessor is not superseded by it.
        guard case .revoked(let late, _) = try await h.ra.completeIssuance(serial: stale, certificateDER: [0x30, 0x01]) else {
            Issue.record("a reaped reservation must never be handed out")
            return
        }
        #expect(late.status == .revoked)
        #expect(try await h.store.certificate(serial: first.serial)?.status == .issued)
        // A completed reservation is never released.
        guard case .issued = try await h.ra.completeIssuance(serial: fresh, certificateDER: [0x30, 0x02]) else {
            Issue.record("the fresh reservation completes")
            return
        }
        let refused = await #expect(throws: StoreError.self) { _ = try await h.ra.releaseReservation(serial: fresh, cause: "test") }
        #expect(refused?.code == .invalidState)
    }

    func tokenAuthorization(_ h: RAHarness, _ hostname: String, agent n: Int) async throws -> IssuanceAuthorization {
        let token = try await h.ra.createToken(hostname: hostname, by: "admin")
        guard
            case .issue(let authorization) = try await h.ra.evaluateEnrollment(
                EnrollmentRequest(identity: h.identity(hostname, agent: n), token: token, sourceAddress: nil))
        else {
            throw TestFailure("token enrolment not issued")
        }
        return authorization
    }
}
