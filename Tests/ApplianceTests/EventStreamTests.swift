import ApplianceKit
import CAStore
import Foundation
import Logging
import PKICore
import Registration
import SwiftASN1
import TestSupport
import Testing
import X509

/// The RA's one event stream wired as `ApplianceRuntime` wires it (docs/architecture.md#event-stream):
/// the revocation coordinator (mTLS cache, OCSP responder, CRL publisher, connection registry)
/// and metrics subscribe, nothing else tells them. Each revoking path of the appliance is driven
/// through the same call its command or service makes and must reach every one of them; each
/// issuance must be counted exactly once. A path that bypassed the stream (as the released
/// reservation and the reaper once did) fails these tests.
@Suite("Event stream: every revocation path reaches every subscriber, every issuance counts once")
struct EventStreamTests {
    struct Wired {
        let harness: CAHarness
        let state: StateDirectory
        let ca: IntermediateCA
        let metrics: ApplianceMetrics
        let recorder: EventRecorder
        let cache: ClientStatusCache
        let authenticator: StandardClientAuthenticator
        let ocsp: OCSPResponder
        let publisher: CRLPublisher

        static func make() async throws -> Wired {
            let harness = try await CAHarness.make()
            let pki = harness.pki
            let state = StateDirectory(path: harness.directory.file("state"))
            try state.create()
            let metrics = ApplianceMetrics()
            let logger = Logger(label: "test.events")
            let publisher = try CRLPublisher(
                issuerCertificate: pki.intermediate, privateKey: pki.intermediateKey, rootCertificate: pki.root,
                store: harness.store, expiry: harness.store, stateDirectory: state, configuration: CRLPublisher.Configuration(),
                clock: pki.clock, metrics: metrics, logger: logger)
            let ocsp = try OCSPResponder(
                issuerCertificate: pki.intermediate, privateKey: pki.intermediateKey, organization: pki.organization,
                responderName: "ocsp.example.test", store: harness.store, configuration: OCSPResponder.Configuration(),
                clock: pki.clock, random: SystemRandomSource(), metrics: metrics, logger: logger)
            // A long maximum age: only the coordinator's invalidation can make a revocation visible.
            let status = StoreClientStatus(store: harness.store)
            let cache = ClientStatusCache(revocation: status, registry: status, maximumAge: .seconds(3600))
            let coordinator = RevocationCoordinator(
                ocsp: ocsp, crlPublisher: publisher, caches: [cache], connections: ConnectionRegistry(), logger: logger)
            let recorder = EventRecorder()
            let ca = try harness.ca(announcingTo: [coordinator, metrics, recorder])
            await ocsp.attach(authority: ca.authority)
            let authenticator = StandardClientAuthenticator(
                trust: ClientTrust(root: pki.root, intermediates: [pki.intermediate], clock: pki.clock),
                revocation: cache, registry: cache, clock: pki.clock)
            try await publisher.publishNow()
            return Wired(
                harness: harness, state: state, ca: ca, metrics: metrics, recorder: recorder, cache: cache,
                authenticator: authenticator, ocsp: ocsp, publisher: publisher)
        }

        func enrol(_ hostname: String) async throws -> (certificate: Certificate, uuid: String) {
            let token = try await ca.createToken(hostname: hostname, caller: CAHarness.admin)
            let request = try CAHarness.agentCSR(hostname: hostname)
            guard case .issued(let certificate, _) = try await ca.enroll(csrDER: request.der, token: token, source: "127.0.0.1") else {
                throw TestFailure("enrolment of \(hostname) was not issued")
            }
            return (certificate, request.uuid)
        }

        /// What the mTLS check says about `certificate` (served from the cache when it can).
        func mTLS(_ certificate: Certificate) async throws -> String {
            switch try await authenticator.authenticate(certificate) {
            case .authenticated: return "authenticated"
            case .unauthenticated(_, let reason), .forbidden(_, let reason): return reason
            }
        }

        /// The OCSP responder's answer for `certificate` (cached answers included).
        func ocspStatus(_ certificate: Certificate) async throws -> String {
            let request = TestDER.request(
                hashes: try OCSPIssuerHashes(issuer: harness.pki.intermediate),
                serials: [Array(certificate.serialNumber.bytes)])
            let response = try OCSPResponse(derEncoded: try await ocsp.respond(toRequest: request))
            let basic = try #require(response.basicResponse, "an unsuccessful OCSP response: \(response.status)")
            switch try #require(basic.responses.first?.status, "a successful OCSP response without a SingleResponse") {
            case .good: return "good"
            case .revoked: return "revoked"
            case .unknown: return "unknown"
            }
        }

        /// The serials on the served CRL, once the publisher has caught up.
        func crlSerials() async throws -> Set<String> {
            await publisher.waitUntilIdle()
            let crl = try CertificateRevocationList(derEncoded: try #require(await publisher.currentCRL(issuer: .intermediate)))
            try crl.verifySignature(issuer: harness.pki.intermediate)
            return Set(crl.tbsCertList.revokedCertificates.map { PKICore.Hex.encode($0.serialNumber.bytes) })
        }

        func revokedCount(_ reason: String) -> Double {
            metrics.registry.value("rootkeeper_certificates_revoked_total", labels: ["revocation_reason": reason])
        }

        /// Everything a revocation of `certificate` must have reached.
        func expectRevokedEverywhere(_ certificate: Certificate, reason: String, countedBefore: Double, path: String) async throws {
            let serial = IntermediateCA.serialHex(certificate)
            #expect(recorder.revokedSerials.contains(serial), "\(path): not announced on the event stream")
            #expect(try await mTLS(certificate) == "revoked", "\(path): the mTLS cache still accepts the certificate")
            #expect(try await ocspStatus(certificate) == "revoked", "\(path): OCSP still answers from its cache")
            #expect(try await crlSerials().contains(serial), "\(path): the CRL was not regenerated with the serial")
            #expect(revokedCount(reason) == countedBefore + 1, "\(path): revocation not counted exactly once")
        }
    }

    @Test("certs revoke, agents revoke and the superseded-certificate policy each reach the mTLS cache, OCSP, the CRL and metrics")
    func everyRevocationPath() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let single = try await wired.enrol("web-1")
        let agent = try await wired.enrol("db-1")
        let renewing = try await wired.enrol("app-1")
        // Warm every cache with a good answer first, so a stale one would show.
        for certificate in [single.certificate, agent.certificate, renewing.certificate] {
            #expect(try await wired.mTLS(certificate) == "authenticated")
            #expect(try await wired.ocspStatus(certificate) == "good")
        }

        // `appliance certs revoke SERIAL --reason keyCompromise` (AdminDispatcher → revokeCertificate)
        var before = wired.revokedCount("keyCompromise")
        _ = try await wired.ca.revokeCertificate(
            serial: IntermediateCA.serialHex(single.certificate), reason: "keyCompromise", caller: CAHarness.admin)
        try await wired.expectRevokedEverywhere(single.certificate, reason: "keyCompromise", countedBefore: before, path: "certs revoke")

        // `appliance agents revoke UUID --reason cessationOfOperation`
        before = wired.revokedCount("cessationOfOperation")
        _ = try await wired.ca.revokeAgent(id: agent.uuid, reason: "cessationOfOperation", caller: CAHarness.admin)
        try await wired.expectRevokedEverywhere(agent.certificate, reason: "cessationOfOperation", countedBefore: before, path: "agents revoke")

        // `ca.revoke_superseded_after_hours` (SupersededRevocationService): the renewed-away certificate
        wired.harness.pki.clock.set(renewing.certificate.notValidAfter.addingTimeInterval(-10 * 86_400))
        let csr = try CAHarness.agentCSR(hostname: "app-1", uuid: renewing.uuid)
        guard case .issued = try await wired.ca.reenroll(csrDER: csr.der, client: try wired.harness.authenticated(renewing.certificate)) else {
            Issue.record("renewal inside the window must be issued")
            return
        }
        #expect(try await wired.mTLS(renewing.certificate) == "authenticated", "a superseded certificate still authenticates")
        #expect(try await wired.ocspStatus(renewing.certificate) == "good")
        wired.harness.pki.clock.set(wired.harness.pki.clock.now() + 25 * 3_600)
        before = wired.revokedCount("superseded")
        let superseded = try await wired.ca.authority.revokeDueSuperseded(by: "policy:revoke-superseded-after")
        #expect(superseded.map(\.record.serial) == [IntermediateCA.serialHex(renewing.certificate)])
        try await wired.expectRevokedEverywhere(renewing.certificate, reason: "superseded", countedBefore: before, path: "superseded policy")
    }

    @Test("a reservation released after a failed signature and one reaped as stale reach the CRL and metrics")
    func releasedReservations() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        var serials: [String] = []
        for (n, hostname) in ["fail-1", "stale-1"].enumerated() {
            let token = try await wired.ca.createToken(hostname: hostname, caller: CAHarness.admin)
            let csr = try CAHarness.agentCSR(hostname: hostname)
            guard let agentID = AgentID(csr.uuid) else { throw TestFailure("bad uuid") }
            let identity = RequestIdentity(hostname: hostname, agentID: agentID, spkiSHA256: "\(n)", csrDER: csr.der)
            guard
                case .issue(let authorization) = try await wired.ca.authority.evaluateEnrollment(
                    Registration.EnrollmentRequest(identity: identity, token: token, sourceAddress: nil))
            else {
                throw TestFailure("expected an authorisation for \(hostname)")
            }
            let serial = "7e0\(n)" + PKICore.Hex.encode(SystemRandomSource().bytes(8))
            let now = wired.harness.pki.clock.now()
            _ = try await wired.ca.authority.reserveIssuance(
                authorization,
                certificate: CertificateRecord(
                    serial: serial, issuerSKI: wired.ca.issuerSKI, type: .agent, subject: "CN=agent-\(hostname)-\(csr.uuid)",
                    notBefore: now, notAfter: now + 86_400, tbsSHA256: String(repeating: "0", count: 64), reservedAt: now))
            serials.append(serial)
        }
        // A released reservation is revoked without a reason code (counted as unspecified).
        let before = wired.revokedCount("unspecified")
        // The CA's own release after a failed signature (IntermediateCA.releaseAfterFailure)...
        _ = try await wired.ca.authority.releaseReservation(serial: serials[0], cause: "CKR_DEVICE_REMOVED")
        #expect(wired.recorder.revokedSerials == [serials[0]])
        // ...and the reservation reaper (ReservationReaperService) for one a dead request left.
        wired.harness.pki.clock.set(wired.harness.pki.clock.now() + 3_600)
        _ = try await wired.ca.authority.reapStaleReservations(reservedBefore: wired.harness.pki.clock.now() - 60, by: "system:reservation-reaper")
        #expect(wired.recorder.revokedSerials == serials)
        #expect(try await wired.crlSerials().isSuperset(of: Set(serials)), "released reservations must be on the CRL")
        #expect(wired.revokedCount("unspecified") == before + 2, "each released reservation counts once as revoked")
    }

    @Test("each issuance is counted exactly once, whichever path issued it; an answer repeated from the store is not counted")
    func issuanceCountedOnce() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let agentSeries = ["certificate_type": "agent"]
        let issued = { wired.metrics.registry.value("rootkeeper_certificates_issued_total", labels: agentSeries) }
        #expect(issued() == 0)
        var serials: Set<String> = []
        for hostname in ["w-1", "w-2", "w-3"] { serials.insert(IntermediateCA.serialHex(try await wired.enrol(hostname).certificate)) }
        #expect(issued() == 3)

        // Pending, approved, fetched — and fetched again (RFC 7030 §4.2.3: the stored certificate, not a new one).
        let request = try CAHarness.agentCSR(hostname: "w-4")
        guard case .pending(let registration, _) = try await wired.ca.enroll(csrDER: request.der, token: nil, source: "192.0.2.4") else {
            Issue.record("a tokenless enrolment must wait for approval")
            return
        }
        _ = try await wired.ca.approveAgent(id: registration, caller: CAHarness.admin)
        guard case .issued(let approved, _) = try await wired.ca.enroll(csrDER: request.der, token: nil, source: "192.0.2.4"),
            case .issued(let again, _) = try await wired.ca.enroll(csrDER: request.der, token: nil, source: "192.0.2.4")
        else {
            Issue.record("the approved registration must be issued, and the same certificate returned again")
            return
        }
        #expect(again == approved)
        serials.insert(IntermediateCA.serialHex(approved))
        #expect(issued() == 4, "the repeated answer must not count")
        #expect(wired.recorder.all.contains(.registrationDecided(id: try #require(UUID(uuidString: registration)), status: .approved)))

        // Renewal: once as issued, once as renewed.
        wired.harness.pki.clock.set(approved.notValidAfter.addingTimeInterval(-10 * 86_400))
        let renewal = try CAHarness.agentCSR(hostname: "w-4", uuid: request.uuid)
        guard case .issued(let renewed, _) = try await wired.ca.reenroll(csrDER: renewal.der, client: try wired.harness.authenticated(approved))
        else {
            Issue.record("renewal inside the window must be issued")
            return
        }
        serials.insert(IntermediateCA.serialHex(renewed))
        #expect(issued() == 5)
        #expect(wired.metrics.registry.value("rootkeeper_certificates_renewed_total") == 1)

        // The appliance's own server certificate.
        let manager = ServerCertificateManager(state: wired.state, ca: wired.ca, identity: .init(fqdn: "ca.example.test"))
        try await manager.issue()
        let server = try #require(try manager.currentCertificate())
        serials.insert(IntermediateCA.serialHex(server))
        #expect(wired.metrics.registry.value("rootkeeper_certificates_issued_total", labels: ["certificate_type": "server"]) == 1)

        // The delegated OCSP responder certificate, the appliance's own too.
        let responder = try await wired.ocsp.prepare()
        serials.insert(IntermediateCA.serialHex(responder))
        #expect(wired.metrics.registry.value("rootkeeper_certificates_issued_total", labels: ["certificate_type": "ocspSigner"]) == 1)

        // The stream announced exactly these seven, once each.
        #expect(wired.recorder.issued.map(\.serial).count == 7)
        #expect(Set(wired.recorder.issued.map(\.serial)) == serials)
    }
}
