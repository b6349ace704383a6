import CAStore
import Foundation
import PKICore
import Registration
import TestSupport
import Testing

/// The RA's one event stream (docs/architecture.md#event-stream): every path that issues,
/// decides or revokes announces it once, after its unit of work committed. Each test drives one
/// path and checks what a subscriber heard — a path that wrote to the store without going
/// through the RA's unit of work would leave the recorder empty and fail here.
@Suite("RA event stream")
struct AuthorityEventTests {
    func reserve(_ h: RAHarness, _ authorization: IssuanceAuthorization, serial: String) async throws {
        let draft = CertificateRecord(
            serial: serial, issuerSKI: RAHarness.issuer, type: .agent, subject: "CN=x",
            notBefore: h.clock.now(), notAfter: h.clock.now() + 90 * RAHarness.day,
            tbsSHA256: EnrollmentToken.digest(of: serial), reservedAt: h.clock.now())
        _ = try await h.ra.reserveIssuance(authorization, certificate: draft)
    }

    func renewal(_ h: RAHarness, of first: CertificateRecord) async throws -> IssuanceAuthorization {
        h.clock.advance(by: 70 * RAHarness.day)
        return try await h.renewal(of: first.serial, h.identity("web1", agent: 1))
    }

    @Test(
        "each issuance is announced exactly once, a renewal as a renewal; reservations and refusals announce nothing", arguments: StoreKind.allCases)
    func issuanceOnce(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let first = try await h.enrol("web1", agent: 1)
        guard case .issued(let enrolled, let wasRenewal) = h.events.all.first, h.events.all.count == 1 else {
            Issue.record("one issuance expected: \(h.events.all)")
            return
        }
        #expect(enrolled.serial == first.serial && enrolled.status == .issued && !wasRenewal)
        let authorization = try await renewal(h, of: first)
        try await reserve(h, authorization, serial: "0a01")
        #expect(h.events.issuedSerials == [first.serial], "a reservation is not an issuance")
        _ = try await h.ra.completeIssuance(serial: "0a01", certificateDER: [0x30, 0x01])
        guard case .issued(let renewed, let isRenewal) = h.events.all.last else {
            Issue.record("the renewal was not announced: \(h.events.all)")
            return
        }
        #expect(renewed.serial == "0a01" && isRenewal)
        #expect(h.events.issuedSerials == [first.serial, "0a01"])
        #expect(h.events.revokedSerials.isEmpty)
    }

    @Test("approval and rejection of registrations are announced with their decision", arguments: StoreKind.allCases)
    func decisions(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        guard
            case .pending(let one) = try await h.ra.evaluateEnrollment(
                EnrollmentRequest(identity: h.identity("db1", agent: 3), token: nil, sourceAddress: nil)),
            case .pending(let two) = try await h.ra.evaluateEnrollment(
                EnrollmentRequest(identity: h.identity("db2", agent: 4), token: nil, sourceAddress: nil))
        else {
            Issue.record("expected pending registrations")
            return
        }
        #expect(h.events.all.isEmpty, "a pending registration decides nothing yet")
        _ = try await h.ra.approve(registrationID: one.id, by: "admin")
        _ = try await h.ra.reject(registrationID: two.id, by: "admin", reason: "unknown host")
        #expect(h.events.all == [.registrationDecided(id: one.id, status: .approved), .registrationDecided(id: two.id, status: .rejected)])
    }

    @Test(
        "every path that revokes announces the serials it revoked: certificate, agent line, superseded policy, released and reaped reservations, signed-while-revoked",
        arguments: StoreKind.allCases)
    func everyRevocationPath(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }

        // certs revoke
        let single = try await h.enrol("solo", agent: 9)
        _ = try await h.ra.revokeCertificate(serial: single.serial, reason: .keyCompromise, by: "admin")
        #expect(h.events.revokedSerials == [single.serial])

        // superseded after renewal, by policy
        let first = try await h.enrol("web1", agent: 1)
        let renewed = try await h.issue(try await renewal(h, of: first))
        h.clock.advance(by: 25 * 3_600)
        let superseded = try await h.ra.revokeDueSuperseded(by: "policy")
        #expect(superseded.map(\.record.serial) == [first.serial])
        #expect(h.events.revokedSerials.suffix(1) == [first.serial])
        h.clock.advance(by: 60 * RAHarness.day)  // into the renewed certificate's renewal window

        // a reservation released after a failed signature, and one reaped as stale
        guard
            case .issue(let again) = try await h.ra.evaluateRenewal(presentedSerial: renewed.serial, request: h.identity("web1", agent: 1, key: "k2"))
        else {
            Issue.record("expected a renewal authorisation")
            return
        }
        try await reserve(h, again, serial: "0b01")
        _ = try await h.ra.releaseReservation(serial: "0b01", cause: "CKR_DEVICE_REMOVED")
        #expect(h.events.revokedSerials.suffix(1) == ["0b01"])
        guard
            case .issue(let retry) = try await h.ra.evaluateRenewal(presentedSerial: renewed.serial, request: h.identity("web1", agent: 1, key: "k2"))
        else {
            Issue.record("the released renewal must be retryable")
            return
        }
        try await reserve(h, retry, serial: "0b02")
        h.clock.advance(by: 3_600)
        _ = try await h.ra.reapStaleReservations(reservedBefore: h.clock.now() - 60)
        #expect(h.events.revokedSerials.suffix(1) == ["0b02"])

        // agents revoke: the whole line, announced with the agent
        guard
            case .issue(let late) = try await h.ra.evaluateRenewal(presentedSerial: renewed.serial, request: h.identity("web1", agent: 1, key: "k3"))
        else {
            Issue.record("expected a renewal authorisation")
            return
        }
        try await reserve(h, late, serial: "0b03")
        let agentID = h.identity("web1", agent: 1).agentID
        let line = try await h.ra.revokeAgent(agentID, reason: .cessationOfOperation, by: "admin")
        guard case .revoked(let results, let agent) = h.events.all.last else {
            Issue.record("agent revocation not announced: \(h.events.all)")
            return
        }
        #expect(agent == agentID)
        #expect(Set(results.map(\.record.serial)) == Set(line.map(\.record.serial)))
        #expect(Set(results.map(\.record.serial)).isSuperset(of: [renewed.serial, "0b03"]))

        // the certificate signed while its agent was revoked: recorded revoked, announced as revoked, not issued
        let issuedBefore = h.events.issuedSerials
        _ = try await h.ra.completeIssuance(serial: "0b03", certificateDER: [0x30, 0x03])
        #expect(h.events.revokedSerials.suffix(1) == ["0b03"])
        #expect(h.events.issuedSerials == issuedBefore, "a certificate never handed out is not counted as issued")
    }

    @Test("an agent whose only certificate was already revoked is still announced when revoked, so caches drop it", arguments: StoreKind.allCases)
    func agentWithoutCertificates(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        let token = try await h.ra.createToken(hostname: "web5", by: "admin")
        guard
            case .issue(let authorization) = try await h.ra.evaluateEnrollment(
                EnrollmentRequest(identity: h.identity("web5", agent: 5), token: token, sourceAddress: nil))
        else {
            Issue.record("expected issuance")
            return
        }
        try await reserve(h, authorization, serial: "0c01")
        _ = try await h.ra.releaseReservation(serial: "0c01", cause: "cancelled")
        let agentID = h.identity("web5", agent: 5).agentID
        let results = try await h.ra.revokeAgent(agentID, reason: nil, by: "admin")
        #expect(results.allSatisfy { !$0.newlyRevoked }, "its one serial was already revoked by the release")
        guard case .revoked(_, let agent) = h.events.all.last else {
            Issue.record("agent revocation not announced: \(h.events.all)")
            return
        }
        #expect(agent == agentID)
    }

    @Test(
        "the appliance's own certificates (server, OCSP responder): audited and announced once when recorded; a released reservation announced revoked, and the next one issues",
        arguments: StoreKind.allCases)
    func ownCertificatesAnnouncedOnce(backend: StoreKind) async throws {
        let h = try await RAHarness(backend)
        defer { h.remove() }
        func own(_ serial: String, _ type: CertificateRecord.CertificateType) -> CertificateRecord {
            CertificateRecord(
                serial: serial, issuerSKI: RAHarness.issuer, type: type, subject: "CN=ca.example.test",
                notBefore: h.clock.now(), notAfter: h.clock.now() + 7 * RAHarness.day,
                tbsSHA256: EnrollmentToken.digest(of: serial), reservedAt: h.clock.now())
        }
        func actions(_ serial: String) async throws -> [String] {
            try await h.store.auditEvents(afterSeq: 0, limit: 1_000).filter { $0.subject == serial }.map(\.action)
        }
        for (serial, type) in [("0d01", CertificateRecord.CertificateType.server), ("0d02", .ocspSigner)] {
            let reserved = try await h.ra.reserveOwnCertificate(own(serial, type), details: [:])
            #expect(!h.events.issuedSerials.contains(serial), "a reservation is not an issuance")
            try await h.ra.recordOwnCertificate(reserved, certificateDER: [0x30, 0x00])
            #expect(h.events.issuedSerials.filter { $0 == serial }.count == 1)
            #expect(h.events.issued.last?.type == type)
            #expect(try await actions(serial) == ["certificate.reserved", "certificate.issued"])
        }
        // A signature or record that failed: the reservation is released (revoked, audited) and
        // the next reservation of the same kind issues.
        _ = try await h.ra.reserveOwnCertificate(own("0d03", .ocspSigner), details: [:])
        _ = try await h.ra.releaseReservation(serial: "0d03", cause: "recording failed")
        #expect(h.events.revokedSerials.suffix(1) == ["0d03"])
        #expect(!h.events.issuedSerials.contains("0d03"))
        #expect(try await actions("0d03") == ["certificate.reserved", "certificate.reservation.released"])
        let next = try await h.ra.reserveOwnCertificate(own("0d04", .ocspSigner), details: [:])
        try await h.ra.recordOwnCertificate(next, certificateDER: [0x30, 0x00])
        #expect(h.events.issuedSerials == ["0d01", "0d02", "0d04"])
    }
}
