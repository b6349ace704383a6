import Crypto
import Foundation
import SwiftASN1
import X509
import PKICore

extension AgentEnrollment {
    /// Renewal window of docs/profiles.md#renewal-windows: agents renew from 30 days before expiry.
    public static let renewalWindow: TimeInterval = 30 * 86400

    /// Whether the certificate in `files` is due for renewal at `now`.
    public func isDue(now: Date = Date()) throws -> Bool {
        guard let certificate = try Certificate.fromPEMFile(files.certificate).first else {
            throw AgentError(.invalidInput, "\(files.certificate) holds no certificate")
        }
        return certificate.notValidAfter.timeIntervalSince(now) <= Self.renewalWindow
    }

    /// `agent renew`: new key + CSR with the same subject, EST simplereenroll presenting the
    /// current certificate (RFC 7030 §4.2.2).
    ///
    /// Safe to interrupt at any point (docs/agent-files.md): the new key is kept in `pending.key`
    /// before the request, so a retry after a lost answer sends the same key and the appliance
    /// re-delivers the certificate it already issued; key and certificate are installed together
    /// by one rename; the previous pair is kept until an mTLS call with the new pair succeeds.
    public func renew(force: Bool = false, now: Date = Date()) async throws -> Certificate? {
        let due = try isDue(now: now)
        guard force || due else { return nil }
        let state = try JSONDecoder().decode(AgentState.self, from: Data(contentsOf: URL(fileURLWithPath: files.state)))
        guard let server = URL(string: state.server) else { throw AgentError(.invalidInput, "bad server URL in state file") }
        let roots = try Certificate.fromPEMFile(files.chain).filter { $0.subject == $0.issuer }
        var client = HTTPSClient(trust: ServerTrustPolicy(pin: try SPKIPin(state.pin), roots: roots))
        let currentKey = Array(try Data(contentsOf: URL(fileURLWithPath: files.key)))
        client.clientIdentity = (Array(try Data(contentsOf: URL(fileURLWithPath: files.certificate))), currentKey)
        let key = try pendingOrNewKey()
        let identity = try AgentIdentity(hostname: state.hostname, uuid: state.agentID)
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
        let response = try await client.send(
            method: .POST, url: server.appendingPathComponent(".well-known/est/simplereenroll"),
            headers: [("Content-Type", "application/pkcs10")], body: body)
        guard response.status == 200 else {
            throw AgentError(.refused, "simplereenroll answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        let issued = try PKCS7CertsOnly(base64Encoded: String(decoding: response.body, as: UTF8.self))
        guard let certificate = issued.certificates.first(where: { $0.publicKey == Certificate.PublicKey(key.publicKey) }) else {
            throw AgentError(.transport, "the response does not contain a certificate for our new key")
        }
        try files.installPair(keyPEM: Array(key.pemRepresentation.utf8),
                              certificatePEM: Array(try certificate.serializeAsPEM().pemString.utf8 + [10]),
                              name: certificate.serialNumber.hex)
        if unlink(files.pendingKey) != 0, errno != ENOENT {
            throw AgentError(.invalidInput, "cannot remove \(files.pendingKey): \(String(cString: strerror(errno)))")
        }
        // Proven only when the appliance accepts the new pair over mTLS; until then the previous
        // pair stays on disk (`previous`) for an operator to fall back to.
        do {
            _ = try await status()
        } catch {
            throw AgentError(.refused, "renewed to serial \(certificate.serialNumber.hex), but the new pair was not accepted over mTLS yet (\(error)); the previous pair is kept at \(files.previous)")
        }
        try files.forgetPrevious()
        return certificate
    }

    /// The key of an unfinished renewal (so a retry asks for the same certificate again), or a new
    /// key persisted as pending before it is sent anywhere.
    func pendingOrNewKey() throws -> P256.Signing.PrivateKey {
        if FileManager.default.fileExists(atPath: files.pendingKey) {
            let text = try String(contentsOfFile: files.pendingKey, encoding: .utf8)
            do {
                return try P256.Signing.PrivateKey(pemRepresentation: text)
            } catch {
                throw AgentError(.invalidInput, "\(files.pendingKey) is not a P-256 private key; remove it to renew with a new key")
            }
        }
        let key = P256.Signing.PrivateKey()
        try files.writeAtomically(Array(key.pemRepresentation.utf8), to: files.pendingKey, mode: 0o600)
        return key
    }

    /// `agent renew --daemon`: checks every `interval` (± 10 % jitter), renews when due, backs off
    /// exponentially (capped at 1 h) after failures. Runs until cancelled.
    public func renewLoop(interval: Duration = .seconds(3600), log: @Sendable (String) -> Void) async throws {
        var backoff: Duration = .seconds(30)
        while !Task.isCancelled {
            var pause = interval
            do {
                if let renewed = try await renew() {
                    log("renewed: serial \(renewed.serialNumber.hex), valid until \(renewed.notValidAfter)")
                }
                backoff = .seconds(30)
            } catch {
                log("renewal failed: \(error); retrying in \(backoff)")
                pause = backoff
                backoff = min(backoff * 2, .seconds(3600))
            }
            let jitter = Double.random(in: 0.9...1.1)
            try await Task.sleep(for: pause * jitter)
        }
    }
}
