import Crypto
import Foundation
import PKICore
import SwiftASN1
import X509

/// Enrolment, renewal and status against the appliance (DESIGN §5).
public struct AgentEnrollment: Sendable {
    public var files: AgentFiles
    /// Upper bound on the total time spent waiting while an enrolment is pending.
    public var maximumPendingWait: Duration = .seconds(600)

    public init(files: AgentFiles) { self.files = files }

    /// `agent enroll`: new P-256 key, CSR `CN={hostname}` (none over 64 characters) with DNS + URN SANs, EST
    /// simpleenroll; waits politely (Retry-After, bounded) while pending.
    public func enroll(server: URL, pin: SPKIPin, hostname: String, token: String?) async throws -> Certificate {
        // The identity is validated and its host name canonicalised (lower case) here, so the
        // state file, the CSR and the certificate spell it the same way (docs/identity.md).
        let identity: AgentIdentity
        do { identity = try AgentIdentity(hostname: hostname, uuid: UUID().uuidString.lowercased()) } catch let error as PKIError {
            throw AgentError(.invalidInput, error.reason)
        }
        let hostname = identity.hostname, uuid = identity.uuid
        try files.prepare()
        let key = P256.Signing.PrivateKey()
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
        while true {
            let response = try await client.send(method: .POST, url: url, headers: headers, body: body)
            switch response.status {
            case 200:
                let issued = try PKCS7CertsOnly(base64Encoded: String(decoding: response.body, as: UTF8.self))
                guard let certificate = issued.certificates.first(where: { $0.publicKey == Certificate.PublicKey(key.publicKey) }) else {
                    throw AgentError(.transport, "the response does not contain a certificate for our key")
                }
                let chain = try await caChain(client: client, server: server)
                try files.writeAtomically(Array(key.pemRepresentation.utf8), to: files.key, mode: 0o600)
                try files.writeAtomically(Array(try certificate.serializeAsPEM().pemString.utf8 + [10]), to: files.certificate, mode: 0o644)
                try files.writeAtomically(Array(chain.utf8), to: files.chain, mode: 0o644)
                let state = AgentState(server: server.absoluteString, pin: pin.description, hostname: hostname, agentID: uuid)
                try files.writeAtomically([UInt8](try JSONEncoder().encode(state)), to: files.state, mode: 0o600)
                return certificate
            case 202:
                // RFC 7030 §4.2.3: wait Retry-After seconds (bounded to 1…3600) and ask again.
                let retry = Duration.seconds(min(max(Int(response.headers["retry-after"] ?? "") ?? 60, 1), 3600))
                guard waited + retry <= maximumPendingWait else {
                    throw AgentError(.stillPending, "enrolment is still pending approval after \(waited); run enroll again later")
                }
                try await Task.sleep(for: retry)
                waited += retry
            default:
                throw AgentError(.refused, "the appliance answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
            }
        }
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
