import CAStore
import Foundation
import PKICore
import Registration
import TestSupport
import Testing

/// An RA over a fresh store, a fixed clock and a seeded random source.
struct RAHarness {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let day: TimeInterval = 86_400
    static let issuer = "1c0ffee1"

    let clock = FixedClock(RAHarness.t0)
    let random = SeededRandomSource(seed: 42)
    let store: any RegistrationDataStore
    let directory: TemporaryDirectory
    private let made: TestStore
    let ra: RegistrationAuthority
    /// What the RA announced on its event stream, in order.
    let events = EventRecorder()

    /// The RA over a fresh store of `kind` (TestSupport's one list of stores): the same decisions
    /// must come out of every backend.
    init(_ kind: StoreKind, policy: RegistrationPolicy = RegistrationPolicy()) async throws {
        directory = try TemporaryDirectory("ra")
        made = try await kind.makeStore(in: directory)
        store = made.store
        ra = RegistrationAuthority(store: store, clock: clock, random: random, policy: policy, events: AuthorityEventStream([events]))
    }

    func remove() {
        made.remove()
        directory.remove()
    }

    /// A request as the CSR parser would report it; `key` stands for a distinct key pair.
    func identity(_ hostname: String, agent n: Int, key: String = "k1") -> RequestIdentity {
        let id = AgentID(UUID(uuidString: String(format: "00000000-0000-4000-8000-%012d", n))!)
        return RequestIdentity(
            hostname: hostname, agentID: id, spkiSHA256: EnrollmentToken.digest(of: "\(key)-\(n)"),
            csrDER: Array("csr-\(hostname)-\(n)-\(key)".utf8))
    }

    /// Does what the CA does with an authorisation: reserve (persisted intent), "sign", record.
    func issue(_ authorization: IssuanceAuthorization, validity: TimeInterval = 90 * RAHarness.day) async throws -> CertificateRecord {
        let now = clock.now()
        let serial = CertificateRecord.serialHex(contentBytes: [0x01] + random.bytes(8))
        let draft = CertificateRecord(
            serial: serial, issuerSKI: RAHarness.issuer, type: .agent,
            subject: "CN=agent-\(authorization.identity.hostname)-\(authorization.identity.agentID)",
            notBefore: now, notAfter: now + validity, tbsSHA256: EnrollmentToken.digest(of: serial),
            reservedAt: now)
        let reserved = try await ra.reserveIssuance(authorization, certificate: draft)
        #expect(try await store.certificate(serial: reserved.serial)?.status == .reserved)
        switch try await ra.completeIssuance(serial: serial, certificateDER: [0x30] + random.bytes(16)) {
        case .issued(let record): return record
        case .revoked(let record, _): throw TestFailure("\(record.serial) was revoked while it was signed")
        }
    }

    /// The authorisation of a renewal that must be allowed (fails the test with the decision otherwise).
    func renewal(of serial: String, _ request: RequestIdentity) async throws -> IssuanceAuthorization {
        let decision = try await ra.evaluateRenewal(presentedSerial: serial, request: request)
        guard case .issue(let authorization) = decision else { throw TestFailure("renewal of \(serial) was not allowed: \(decision)") }
        return authorization
    }

    /// Enrols an agent with a fresh token and returns its first certificate.
    func enrol(_ hostname: String, agent n: Int) async throws -> CertificateRecord {
        let token = try await ra.createToken(hostname: hostname, by: "admin")
        let decision = try await ra.evaluateEnrollment(
            EnrollmentRequest(
                identity: identity(hostname, agent: n), token: token,
                sourceAddress: "192.0.2.10"))
        guard case .issue(let authorization) = decision else { throw TestFailure("token enrolment not issued: \(decision)") }
        return try await issue(authorization)
    }
}
