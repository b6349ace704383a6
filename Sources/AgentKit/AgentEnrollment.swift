import Crypto
import Foundation
import NIOHTTP1
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
        server: URL, otherServers: [URL] = [], pin: SPKIPin, hostname: String, token: String?,
        progress: @Sendable (String) -> Void = { _ in }
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
                .init(
                    ExtensionRequest(
                        extensions: try Certificate.Extensions {
                            SubjectAlternativeNames(identity.subjectAlternativeNames)
                        }))
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
                try files.installPair(
                    keyPEM: Array(key.pemRepresentation.utf8),
                    certificatePEM: Array(try certificate.serializeAsPEM().pemString.utf8 + [10]),
                    name: certificate.serialNumber.hex)
                try files.writeAtomically(Array(chain.utf8), to: files.chain, mode: 0o644)
                let state = AgentState(
                    server: server.absoluteString, otherServers: otherServers.map(\.absoluteString), pin: pin.description, hostname: hostname,
                    agentID: uuid)
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
                    progress(
                        "enrolment pending: registration \(registration ?? "?") for \(hostname) (agent \(uuid)) waits for an administrator, who runs: \(approve)"
                    )
                }
                guard waited + retry <= maximumPendingWait else {
                    throw AgentError(
                        .stillPending,
                        """
                        enrolment is still pending approval after \(waited); the key and agent ID \(uuid) are kept in \(files.directory.path): \
                        run the same agent enroll command again to resume once an administrator has run: \(approve)
                        """)
                }
                progress(
                    "still pending after \(waited.components.seconds) s; asking again in \(retry.components.seconds) s (gives up after \(maximumPendingWait.components.seconds) s)"
                )
                try await Task.sleep(for: retry)
                waited += retry
            default:
                let reason = String(decoding: response.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                let fix =
                    response.status == 403 && token != nil
                    ? "; ask the administrator for a new token (`appliance agents token --hostname \(hostname)`)" : ""
                throw AgentError(.refused, "the appliance refused the enrolment (HTTP \(response.status)): \(reason)\(fix)")
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
            throw AgentError(
                .invalidInput,
                "\(directory) already holds an enrolled agent (agent-state.json); renew it with `agent renew --out \(directory)`, or enrol into a new --out directory"
            )
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
                throw AgentError(
                    .invalidInput,
                    "\(directory) holds the enrolment of \(saved.hostname) (agent \(saved.agentID)); rerun with --hostname \(saved.hostname) to resume it, or enrol \(hostname) into a new --out directory"
                )
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
        String(decoding: try await statusBody(), as: UTF8.self)
    }

    /// The body of `GET /api/v1/agent/status`, over mTLS with the current pair.
    func statusBody() async throws -> [UInt8] {
        let (_, servers, client) = try agentClient()
        let response = try await Self.send(client, to: servers, path: "api/v1/agent/status", method: .GET)
        guard response.status == 200 else {
            throw AgentError(
                .refused,
                "the appliance refused the status request (HTTP \(response.status)): \(String(decoding: response.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
        return response.body
    }

    /// What `agent enroll` saved, with a message naming the directory when it is not an agent's.
    func agentState() throws -> AgentState {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: files.state))
        } catch {
            throw AgentError(
                .invalidInput,
                """
                \(files.directory.path) holds no enrolled agent (\(files.state) cannot be read: \(Self.reason(error))); \
                give the --out directory `agent enroll` wrote, or enrol first
                """)
        }
        do {
            return try JSONDecoder().decode(AgentState.self, from: data)
        } catch {
            throw AgentError(.invalidInput, "\(files.state) is not the state file `agent enroll` writes; enrol again into a new --out directory")
        }
    }

    /// The saved state, the appliance URL and an mTLS client with the current pair, trusting the
    /// saved chain's roots and pin.
    func agentClient() throws -> (AgentState, [URL], HTTPSClient) {
        let state = try agentState()
        let servers = try state.servers.map { text in
            guard let server = URL(string: text), server.scheme == "https" else {
                throw AgentError(.invalidInput, "\(files.state) names the server \(text), which is not an https:// URL; enrol again")
            }
            return server
        }
        func read(_ path: String, _ what: String) throws -> [UInt8] {
            do { return Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                throw AgentError(
                    .invalidInput,
                    "cannot read the agent's \(what) \(path): \(Self.reason(error)); restore the --out directory `agent enroll` wrote, or enrol again"
                )
            }
        }
        let chainPEM = try read(files.chain, "CA chain")
        let roots: [Certificate]
        do {
            roots = try PEMDocument.parseMultiple(pemString: String(decoding: chainPEM, as: UTF8.self)).map { try Certificate(pemDocument: $0) }
                .filter { $0.subject == $0.issuer }
        } catch {
            throw AgentError(.invalidInput, "\(files.chain) is not a PEM certificate chain; restore it or enrol again")
        }
        var client = HTTPSClient(trust: ServerTrustPolicy(pin: try SPKIPin(state.pin), roots: roots))
        client.clientIdentity = (try read(files.certificate, "certificate"), try read(files.key, "private key"))
        return (state, servers, client)
    }

    /// Sends `path` to each appliance URL in turn until one answers (docs/agent-files.md): a URL
    /// that cannot be reached (`transport`: refused, reset, timed out) passes to the next; any
    /// HTTP answer is final, and so is a server that fails the pin (nothing was sent to it, and a
    /// wrong key is not an outage). The error of the last URL tried names every failure.
    static func send(
        _ client: HTTPSClient, to servers: [URL], path: String, method: HTTPMethod, headers: [(String, String)] = [], body: [UInt8] = []
    ) async throws -> HTTPSResponse {
        var failures: [String] = []
        for server in servers {
            do {
                return try await client.send(method: method, url: server.appendingPathComponent(path), headers: headers, body: body)
            } catch let error as AgentError where error.code == .transport {
                failures.append(error.reason)
            }
        }
        throw AgentError(
            .transport,
            failures.count == 1 ? failures[0] : "no appliance URL answered: \(failures.joined(separator: "; "))")
    }

    /// A file error in words: the POSIX reason, never Foundation's `Error Domain=…` text.
    static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        switch (ns.domain, ns.code) {
        case (NSCocoaErrorDomain, NSFileReadNoSuchFileError), (NSCocoaErrorDomain, NSFileNoSuchFileError): return "No such file or directory"
        case (NSCocoaErrorDomain, NSFileReadNoPermissionError): return "Permission denied"
        case (NSPOSIXErrorDomain, let code): return String(cString: strerror(Int32(code)))
        default: return ns.localizedDescription
        }
    }
}
