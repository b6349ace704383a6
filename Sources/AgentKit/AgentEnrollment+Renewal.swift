import Crypto
import Foundation
import PKICore
import SwiftASN1
import X509

/// What one `agent renew` did.
public enum RenewalResult: Sendable {
    /// A new certificate is installed and proven over mTLS.
    case renewed(Certificate)
    /// Nothing was done: the appliance's window is not open (``RenewalCheck/explanation`` says when).
    case notDue(RenewalCheck)
}

extension AgentEnrollment {
    /// The renewal decision (``RenewalCheck``): the appliance's `renewNow` for the current
    /// certificate, or an unfinished renewal to complete.
    public func renewalCheck() async throws -> RenewalCheck {
        let report = try AgentStatusReport.decode(try await statusBody())
        return RenewalCheck(status: report, unfinished: FileManager.default.fileExists(atPath: files.pendingKey))
    }

    /// `agent renew`: renews when ``renewalCheck()`` says so, or at once with `force`.
    public func renew(force: Bool) async throws -> RenewalResult {
        if !force {
            let check = try await renewalCheck()
            guard check.isDue else { return .notDue(check) }
        }
        return .renewed(try await renewNow())
    }

    /// `agent renew`: new key + CSR with the same subject, EST simplereenroll presenting the
    /// current certificate (RFC 7030 §4.2.2).
    ///
    /// Safe to interrupt at any point (docs/agent-files.md): the new key is kept in `pending.key`
    /// before the request, so a retry after a lost answer sends the same key and the appliance
    /// re-delivers the certificate it already issued; key and certificate are installed together
    /// by one rename; the previous pair is kept until an mTLS call with the new pair succeeds.
    public func renewNow() async throws -> Certificate {
        let (state, servers, client) = try agentClient()
        let key = try pendingOrNewKey()
        let identity = try AgentIdentity(hostname: state.hostname, uuid: state.agentID)
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
        // The pending key is the same on every URL: a node that issued but whose answer was lost
        // is reached again, or another node re-delivers the same certificate from the shared store.
        let response = try await Self.send(
            client, to: servers, path: ".well-known/est/simplereenroll", method: .POST,
            headers: [("Content-Type", "application/pkcs10")], body: body)
        guard response.status == 200 else {
            let reason = String(decoding: response.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw AgentError(.refused, "the appliance refused the renewal (HTTP \(response.status)): \(reason)")
        }
        let issued = try PKCS7CertsOnly(base64Encoded: String(decoding: response.body, as: UTF8.self))
        guard let certificate = issued.certificates.first(where: { $0.publicKey == Certificate.PublicKey(key.publicKey) }) else {
            throw AgentError(.transport, "the response does not contain a certificate for our new key")
        }
        try files.installPair(
            keyPEM: Array(key.pemRepresentation.utf8),
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
            throw AgentError(
                .refused,
                "renewed to serial \(certificate.serialNumber.hex), but the new pair was not accepted over mTLS yet (\(error)); the previous pair is kept at \(files.previous)"
            )
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

    /// `agent renew --daemon`: asks the appliance every `interval` (± 10 % jitter) whether to renew
    /// (``renewalCheck()``), renews when due, then runs `hook`; backs off exponentially (capped at
    /// 1 h) after failures. A hook that fails is run again at the next round (the certificate
    /// stays installed) until it succeeds. Runs until cancelled.
    public func renewLoop(interval: Duration = .seconds(3600), hook: RenewalHook? = nil, log: @Sendable (String) -> Void) async throws {
        // The first retry comes after 30 s, or sooner when the checks themselves are more frequent.
        let firstBackoff = min(Duration.seconds(30), interval)
        var backoff = firstBackoff
        var hookOwed: [String: String]?
        while !Task.isCancelled {
            var pause = interval
            do {
                if let owed = hookOwed, let hook {
                    try await hook.run(environment: owed)
                    hookOwed = nil
                    log("renewal hook succeeded on its retry")
                }
                switch try await renew(force: false) {
                case .renewed(let renewed):
                    log("renewed: serial \(renewed.serialNumber.hex), valid until \(renewed.notValidAfter)")
                    if let hook, !hook.isEmpty {
                        let environment = try hookEnvironment(for: renewed)
                        hookOwed = environment
                        try await hook.run(environment: environment)
                        hookOwed = nil
                        log("renewal hook succeeded")
                    }
                case .notDue(let check):
                    log(check.explanation)
                }
                backoff = firstBackoff
            } catch let error as AgentError where error.code == .hookFailed {
                log("\(error.reason); the renewed certificate stays installed; the hook runs again in \(backoff.components.seconds) s")
                pause = backoff
                backoff = min(backoff * 2, .seconds(3600))
            } catch {
                log("renewal failed: \(error); retrying in \(backoff.components.seconds) s")
                pause = backoff
                backoff = min(backoff * 2, .seconds(3600))
            }
            let jitter = Double.random(in: 0.9...1.1)
            try await Task.sleep(for: pause * jitter)
        }
    }
}
