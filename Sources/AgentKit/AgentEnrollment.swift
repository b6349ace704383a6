import Crypto
import Foundation
import PKICore
import SwiftASN1
import X509

/// Enrolment, renewal and status against the appliance (docs/commands.md#agent).
public struct AgentEnrollment: Sendable {
    public var files: AgentFiles
    /// Upper bound on the total time spent waiting while an enrolment is pending.
    public var maximumPendingWait: Duration = .seconds(600)

    public init(files: AgentFiles) { self.files = files }

    /// `agent enroll`: new P-256 key, CSR `CN={hostname}` (none over 64 characters) with DNS + URN
    /// SANs, EST simpleenroll; waits politely (Retry-After, bounded) while pending, reporting
    /// through `progress`.
    ///
    /// The key and agent ID are saved in ``files`` (key 0600 in a 0700 directory) before the
    /// first request, so a run that gives up while the registration is pending, or fails on the
    /// way, leaves a later run able to resume the same registration with the same key instead of
    /// colliding with it (issue #12: a new key is refused while the old registration holds the
    /// hostname).
    public func enroll(
        server: URL, pin: SPKIPin, hostname: String, token: String?, progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> Certificate {
        // The host name is validated and canonicalised (lower case) here, so the state file, the
        // CSR and the certificate spell it the same way (docs/identity.md).
        let canonical: String
        do { canonical = try AgentIdentity(hostname: hostname, uuid: UUID().uuidString.lowercased()).hostname } catch let error as PKIError {
            throw AgentError(.invalidInput, error.reason)
        }
        let hostname = canonical
        try files.prepare()
        let (key, uuid) = try keyAndIdentity(server: server, pin: pin, hostname: hostname, progress: progress)
        let identity = try AgentIdentity(hostname: hostname, uuid: uuid)
        let csr = try CertificateSigningRequest(
            version: .v1, subject: try identity.requestSubject(),
            privateKey: .init(key),
            attributes: try CertificateSigningRequest.Attributes([
                .init(ExtensionRequest(extensions: try Certificate.Extensions {
                    SubjectAlternativeNames(identity.subjectAlternativeNames)
                })),
            ]),
            signatureAlgorithm: .ecdsaWithSHA256)
        var serializer = DER.Serializer()
        try serializer.serialize(csr)
        let body = Array(Data(serializer.serializedBytes).base64EncodedString(options: .lineLength64Characters).utf8)
        var headers = [("Content-Type", "application/pkcs10")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        let client = HTTPSClient(trust: ServerTrustPolicy(pin: pin))
        let url = server.appendingPathComponent(".well-known/est/simpleenroll")
        var waited: Duration = .zero
        var registration: String?
        while true {
            let response = try await client.send(method: .POST, url: url, headers: headers, body: body)
            switch response.status {
            case 200:
                let issued = try PKCS7CertsOnly(base64Encoded: String(decoding: response.body, as: UTF8.self))
                guard let certificate = issued.certificates.first(where: { $0.publicKey == Certificate.PublicKey(key.publicKey) }) else {
                    throw AgentError(.transport, "the response does not contain a certificate for our key")
                }
                let chain = try await caChain(client: client, server: server)
                try files.installPair(keyPEM: Array(key.pemRepresentation.utf8),
                                      certificatePEM: Array(try certificate.serializeAsPEM().pemString.utf8 + [10]),
                                      name: certificate.serialNumber.hex)
                try files.writeAtomically(Array(chain.utf8), to: files.chain, mode: 0o644)
                let state = AgentState(server: server.absoluteString, pin: pin.description, hostname: hostname, agentID: uuid)
                try files.writeAtomically([UInt8](try JSONEncoder().encode(state)), to: files.state, mode: 0o600)
                // The enrolment is complete: agent-state.json and the installed pair now describe the
                // key. The saved enrolment key must go too, or the first renewal would take it for
                // the key of a renewal in flight (docs/agent-files.md).
                for done in [files.pending, files.pendingKey] where unlink(done) != 0 && errno != ENOENT {
                    throw AgentError(.invalidInput, "enrolled, but cannot remove \(done): \(String(cString: strerror(errno)))")
                }
                return certificate
            case 202:
                // RFC 7030 §4.2.3: wait Retry-After seconds (bounded to 1…3600) and ask again.
                let retry = Duration.seconds(min(max(Int(response.headers["retry-after"] ?? "") ?? 60, 1), 3600))
                let text = String(decoding: response.body, as: UTF8.self)
                if let found = text.firstMatch(of: /registration ([0-9a-fA-F-]{36})/)?.1 { registration = String(found) }
                let approve = "appliance agents approve \(registration ?? uuid)"
                if waited == .zero {
                    progress("enrolment pending: registration \(registration ?? "?") for \(hostname) (agent \(uuid)) waits for an administrator, who runs: \(approve)")
                }
                guard waited + retry <= maximumPendingWait else {
                    throw AgentError(.stillPending, """
                        enrolment is still pending approval after \(waited); the key and agent ID \(uuid) are kept in \(files.directory.path): \
                        run the same agent enroll command again to resume once an administrator has run: \(approve)
                        """)
                }
                progress("still pending after \(waited.components.seconds) s; asking again in \(retry.components.seconds) s (gives up after \(maximumPendingWait.components.seconds) s)")
                try await Task.sleep(for: retry)
                waited += retry
            default:
                throw AgentError(.refused, "the appliance answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
            }
        }
    }

    /// The key and agent ID of this enrolment: those saved by an earlier run in ``files`` (same
    /// hostname), or new ones, saved before anything is sent (key first, then the record naming it).
    func keyAndIdentity(
        server: URL, pin: SPKIPin, hostname: String, progress: (String) -> Void
    ) throws -> (P256.Signing.PrivateKey, String) {
        let directory = files.directory.path
        if FileManager.default.fileExists(atPath: files.state) {
            throw AgentError(.invalidInput, "\(directory) already holds an enrolled agent (agent-state.json); renew it with `agent renew --out \(directory)`, or enrol into a new --out directory")
        }
        if FileManager.default.fileExists(atPath: files.pending) {
            let saved: AgentState
            let key: P256.Signing.PrivateKey
            do {
                saved = try JSONDecoder().decode(AgentState.self, from: Data(contentsOf: URL(fileURLWithPath: files.pending)))
                key = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOfFile: files.pendingKey, encoding: .utf8))
            } catch {
                throw AgentError(.invalidInput, "cannot resume the enrolment saved in \(directory) (\(error)); enrol into a new --out directory")
            }
            guard saved.hostname == hostname else {
                throw AgentError(.invalidInput, "\(directory) holds the enrolment of \(saved.hostname) (agent \(saved.agentID)); rerun with --hostname \(saved.hostname) to resume it, or enrol \(hostname) into a new --out directory")
            }
            progress("resuming the enrolment of \(hostname) as agent \(saved.agentID) with the key saved in \(files.pendingKey)")
            return (key, saved.agentID)
        }
        let uuid = UUID().uuidString.lowercased()
        let key = P256.Signing.PrivateKey()
        try files.writeAtomically(Array(key.pemRepresentation.utf8), to: files.pendingKey, mode: 0o600)
        let record = AgentState(server: server.absoluteString, pin: pin.description, hostname: hostname, agentID: uuid)
        try files.writeAtomically([UInt8](try JSONEncoder().encode(record)), to: files.pending, mode: 0o600)
        progress("new key saved in \(files.pendingKey) for agent \(uuid) (\(hostname)); a rerun with the same --out resumes this enrolment")
        return (key, uuid)
    }

    /// The CA certificates from `/cacerts`, as PEM, over the same pinned connection policy.
    func caChain(client: HTTPSClient, server: URL) async throws -> String {
        let response = try await client.send(method: .GET, url: server.appendingPathComponent(".well-known/est/cacerts"))
        guard response.status == 200 else { throw AgentError(.refused, "cacerts answered \(response.status)") }
        let certificates = try PKCS7CertsOnly(base64Encoded: String(decoding: response.body, as: UTF8.self)).certificates
        return try certificates.map { try $0.serializeAsPEM().pemString + "\n" }.joined()
    }

    /// `agent status`: the appliance's JSON view of our certificate, over mTLS.
    public func status() async throws -> String {
        let state = try JSONDecoder().decode(AgentState.self, from: Data(contentsOf: URL(fileURLWithPath: files.state)))
        guard let server = URL(string: state.server) else { throw AgentError(.invalidInput, "bad server URL in state file") }
        let roots = try Certificate.fromPEMFile(files.chain).filter { $0.subject == $0.issuer }
        var client = HTTPSClient(trust: ServerTrustPolicy(pin: try SPKIPin(state.pin), roots: roots))
        client.clientIdentity = (Array(try Data(contentsOf: URL(fileURLWithPath: files.certificate))), Array(try Data(contentsOf: URL(fileURLWithPath: files.key))))
        let response = try await client.send(method: .GET, url: server.appendingPathComponent("api/v1/agent/status"))
        guard response.status == 200 else {
            throw AgentError(.refused, "status answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return String(decoding: response.body, as: UTF8.self)
    }
}

extension Certificate {
    static func fromPEMFile(_ path: String) throws -> [Certificate] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try PEMDocument.parseMultiple(pemString: text).map { try Certificate(pemDocument: $0) }
    }
}
