import ApplianceKit
import Foundation
import NIOConcurrencyHelpers
import PKICore
import TestSupport
import X509

/// An in-memory CA + RA + store behind the ApplianceKit seams, signing with the run-time
/// ``TestPKI``. Behaviour mirrors docs/endpoints.md#est-simpleenroll: a token issues at once; no token records a pending
/// registration (202) until ``approve(hostname:)``; a wrong token is rejected.
final class FakeCertificateAuthority: CertificateAuthorityService, RevocationChecking, AgentRegistry,
    RevocationPublisher, OCSPResponding, AdministrationService, Sendable
{
    struct State {
        var issued: [String: Certificate] = [:]  // serial description → certificate
        var revoked: Set<String> = []
        var agents: [String: RegisteredAgent] = [:]
        var pending: [String: String] = [:]  // uuid → hostname
        var approved: Set<String> = []
        var adminCallers: [AdminCaller] = []
        var tokens: Set<String> = ["good-token"]
        var statusCalls = 0
    }
    let pki: TestPKI
    let state = NIOLockedValueBox(State())
    let retryAfter: Int

    init(pki: TestPKI, retryAfter: Int = 1) {
        self.pki = pki
        self.retryAfter = retryAfter
    }

    func approve(uuid: String) { state.withLockedValue { _ = $0.approved.insert(uuid) } }
    func revoke(_ certificate: Certificate) { state.withLockedValue { _ = $0.revoked.insert("\(certificate.serialNumber)") } }
    /// Records a certificate issued outside EST (e.g. by the test PKI directly) as ours and registered.
    func register(_ certificate: Certificate) {
        guard let identity = AgentSubject(certificate: certificate) else { return }
        state.withLockedValue {
            $0.issued["\(certificate.serialNumber)"] = certificate
            $0.agents[identity.uuid] = RegisteredAgent(id: identity.uuid, hostname: identity.hostname)
        }
    }
    var issuedCount: Int { state.withLockedValue { $0.issued.count } }

    // MARK: CertificateAuthorityService
    func caCertificates() async throws -> [Certificate] { [pki.intermediate, pki.root] }
    func csrAttributes() async throws -> [UInt8]? { nil }

    func enroll(csrDER: [UInt8], token: String?, source: String) async throws -> EnrollmentOutcome {
        let csr = try CertificateSigningRequest(derEncoded: csrDER)
        guard let identity = Self.identity(csr) else { return .rejected(reason: "the CSR names no agent identity") }
        if let token {
            guard state.withLockedValue({ $0.tokens.remove(token) }) != nil else { return .rejected(reason: "unknown or used token") }
            return try await issue(csr, identity)
        }
        let approved = state.withLockedValue { state -> Bool in
            if state.approved.contains(identity.uuid) { return true }
            state.pending[identity.uuid] = identity.hostname
            return false
        }
        return approved ? try await issue(csr, identity) : .pending(registrationID: identity.uuid, retryAfterSeconds: retryAfter)
    }

    func reenroll(csrDER: [UInt8], client: AuthenticatedAgent) async throws -> EnrollmentOutcome {
        let csr = try CertificateSigningRequest(derEncoded: csrDER)
        // The real CA's contract (the RA's IdentityMismatch): a renewal repeats the certificate's identity.
        guard Self.identity(csr) == client.identity else {
            return .identityMismatch(reason: "the CSR names another identity than agent \(client.identity.uuid)")
        }
        return try await issue(csr, client.identity)
    }

    var statusCalls: Int { state.withLockedValue { $0.statusCalls } }

    func agentStatus(client: AuthenticatedAgent) async throws -> AgentStatus {
        state.withLockedValue { $0.statusCalls += 1 }
        let certificate = client.certificate
        return AgentStatus(
            agentID: client.identity.uuid, hostname: client.identity.hostname, serialNumber: "\(certificate.serialNumber)",
            notBefore: certificate.notValidBefore, notAfter: certificate.notValidAfter, state: "active",
            renewNow: certificate.notValidAfter.timeIntervalSinceNow < 30 * 86400)
    }

    private func issue(_ csr: CertificateSigningRequest, _ identity: AgentSubject) async throws -> EnrollmentOutcome {
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else { throw ApplianceError.malformed("CSR signature invalid") }
        let certificate = try await pki.issueAgent(for: csr, identity: try AgentIdentity(hostname: identity.hostname, uuid: identity.uuid))
        register(certificate)
        return .issued(certificate: certificate, chain: [pki.intermediate, pki.root])
    }

    static func identity(_ csr: CertificateSigningRequest) -> AgentSubject? { AgentSubject(csr: csr) }

    // MARK: RevocationChecking + AgentRegistry
    func revocationStatus(of certificate: Certificate) async throws -> RevocationStatus {
        state.withLockedValue { state in
            let serial = "\(certificate.serialNumber)"
            if state.revoked.contains(serial) { return .revoked(reason: "keyCompromise") }
            return state.issued[serial] == nil ? .unknown : .good
        }
    }
    func registeredAgent(id: String) async throws -> RegisteredAgent? { state.withLockedValue { $0.agents[id] } }

    // MARK: RevocationPublisher + OCSPResponding
    func currentCRL(issuer: CRLIssuer) async throws -> [UInt8]? { issuer == .intermediate ? Array("crl-\(issuer)".utf8) : nil }
    func respond(toRequest der: [UInt8]) async throws -> [UInt8] { [0x30, 0x03, 0x0a, 0x01, 0x01] + der.prefix(0) }

    // MARK: AdministrationService
    private func record(_ caller: AdminCaller) { state.withLockedValue { $0.adminCallers.append(caller) } }
    var adminCallers: [AdminCaller] { state.withLockedValue { $0.adminCallers } }
    func listAgents(caller: AdminCaller) async throws -> [AdminEntry] {
        record(caller)
        return state.withLockedValue { $0.agents.values.sorted { $0.id < $1.id }.map { AdminEntry(id: $0.id, summary: $0.hostname) } }
    }
    func showAgent(id: String, caller: AdminCaller) async throws -> [AdminField] {
        guard let agent = state.withLockedValue({ $0.agents[id] }) else { throw ApplianceError.notFound("no agent \(id)") }
        return [AdminField(name: "id", value: agent.id), AdminField(name: "hostname", value: agent.hostname)]
    }
    func approveAgent(id: String, caller: AdminCaller) async throws -> String {
        approve(uuid: id)
        return "approved \(id)"
    }
    func rejectAgent(id: String, reason: String, caller: AdminCaller) async throws -> String { "rejected \(id)" }
    func revokeAgent(id: String, reason: String, caller: AdminCaller) async throws -> String { "revoked \(id)" }
    func createToken(hostname: String?, caller: AdminCaller) async throws -> String {
        let token = UUID().uuidString
        state.withLockedValue { _ = $0.tokens.insert(token) }
        return token
    }
    func listCertificates(caller: AdminCaller) async throws -> [AdminEntry] { [] }
    func showCertificate(serial: String, caller: AdminCaller) async throws -> [AdminField] { throw ApplianceError.notFound(serial) }
    func revokeCertificate(serial: String, reason: String, caller: AdminCaller) async throws -> String { "revoked \(serial)" }
    func expiringCertificates(withinDays days: Int, caller: AdminCaller) async throws -> [AdminEntry] { [] }
    func generateCRL(caller: AdminCaller) async throws -> String { "crl generated" }
}
