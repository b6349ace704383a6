import CAStore
import Crypto
import Foundation
import SwiftASN1
import TestSupport
import Testing
import X509

@testable import ApplianceKit
@testable import PKICore

/// Issue #16: the hostile-client matrix against the real `appliance serve` (``ApplianceProcess``,
/// real TLS on loopback, curl and openssl s_client as the clients). Every hostile case is refused,
/// a genuine agent is served throughout (a background loop of mTLS requests that must all get
/// 200), and each certificate refusal is logged with its reason and counted in
/// `rootkeeper_certificate_validation_failures_total{reason}`.
///
/// The forged client certificates are signed with the REAL intermediate key (read from the state
/// directory with the harness passphrase), so they chain to the pinned root: what refuses them is
/// the appliance's own checks, not a broken signature. Cases that need time to pass (a superseded
/// certificate's grace, an issuer's retirement) run the same binary with its wall clock shifted
/// (``ShiftedClock``). Cases already covered elsewhere are not repeated: RSA key
/// exchange (``TLSRefusalTests``), CBC suites (``MutualTLSTests``), slow loris in plain HTTP and
/// before the handshake, and header and body limits (``InputLimitsTests``), garbage OCSP and
/// 10 000 CertIDs (``OCSPResponderTests``).
@Suite("Hostile-client matrix against the real serve (curl, openssl s_client, /metrics)", .serialized)
struct HostileClientMatrixTests {
    /// The served appliance, a genuine agent and the means to forge with the real intermediate.
    struct Matrix {
        let harness: RenewalHarness
        let serve: ApplianceProcess
        let root: String
        let intermediate: Certificate
        let intermediateKey: Certificate.PrivateKey
        let genuine: (cert: String, key: String)
        let genuineCertificate: Certificate
        var work: TemporaryDirectory { harness.directory }
        var statusURL: String { "\(serve.httpsURL)/api/v1/agent/status" }

        /// The `serve` configuration lines added to the harness's (`ca:` keys indented, other
        /// top-level blocks not), kept for a restart.
        let configuration: String
        static let passphrase = "correct horse battery staple"

        static func start(configuration: String = "") async throws -> Matrix {
            let h = try await RenewalHarness.make()
            do {
                let serve = try ApplianceProcess(
                    state: h.state.root.path, work: h.directory, passphrase: passphrase, extraConfiguration: configuration)
                do {
                    let root = h.directory.file("root.pem")
                    let genuine = try await serve.enrollWithCurl("genuine-01", in: h.directory, root: root)
                    let intermediate = try IntermediateKeyLoader.loadCertificates(h.state).intermediate
                    // Read directly: as root the state belongs to the service user, which the loader insists on.
                    let keyFile = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.keyPath(h.state, intermediate))))
                    let key = try EncryptedPrivateKey.decrypt(keyFile, passphrase: Array(passphrase.utf8))
                    let genuineCertificate = try PEMCodec.certificate(from: Array(try Data(contentsOf: URL(fileURLWithPath: genuine.cert))))
                    return Matrix(
                        harness: h, serve: serve, root: root, intermediate: intermediate, intermediateKey: key,
                        genuine: genuine, genuineCertificate: genuineCertificate, configuration: configuration)
                } catch {
                    serve.stop()
                    throw error
                }
            } catch {
                h.remove()
                throw error
            }
        }

        /// Stops `serve` and starts it again on the same state with `environment` (a
        /// ``ShiftedClock``: it and the curl of this matrix then run ahead of the real clock).
        /// `enrollGenuine`: enrol a fresh genuine agent at the new time (the first one may have
        /// expired there); the intermediate and its key stay those read at the first start.
        func restarted(_ name: String, environment: [String: String], enrollGenuine: Bool) async throws -> Matrix {
            serve.stop()
            let serve = try ApplianceProcess(
                state: harness.state.root.path, work: work, passphrase: Self.passphrase, name: name, extraConfiguration: configuration,
                environment: environment)
            do {
                var genuine = self.genuine
                var genuineCertificate = self.genuineCertificate
                if enrollGenuine {
                    genuine = try await serve.enrollWithCurl("genuine-\(name)", in: work, root: root)
                    genuineCertificate = try PEMCodec.certificate(from: Array(try Data(contentsOf: URL(fileURLWithPath: genuine.cert))))
                }
                return Matrix(
                    harness: harness, serve: serve, root: root, intermediate: intermediate, intermediateKey: intermediateKey,
                    genuine: genuine, genuineCertificate: genuineCertificate, configuration: configuration)
            } catch {
                serve.stop()
                throw error
            }
        }

        /// The file key of the installed intermediate (per-issuer layout, or the legacy single path).
        static func keyPath(_ state: StateDirectory, _ intermediate: Certificate) throws -> String {
            let perIssuer = state.path(StateDirectory.issuerKeyComponents(try IssuerRoster.ski(intermediate)))
            return FileManager.default.fileExists(atPath: perIssuer) ? perIssuer : state.intermediateKey
        }

        func stop() {
            serve.stop()
            harness.remove()
        }

        /// Writes `certificate` (and more PEM after it) and `key` as files; returns their paths.
        func write(_ name: String, _ certificates: [Certificate], key: Certificate.PrivateKey) throws -> (cert: String, key: String) {
            let cert = work.file("\(name).crt")
            let keyFile = work.file("\(name).key")
            try certificates.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n").write(toFile: cert, atomically: true, encoding: .utf8)
            try key.serializeAsPEM().pemString.write(toFile: keyFile, atomically: true, encoding: .utf8)
            return (cert, keyFile)
        }

        /// A client certificate like the genuine agent's, signed by the real intermediate, with the
        /// changes a case makes.
        func forge(
            key: Certificate.PrivateKey = Certificate.PrivateKey(P256.Signing.PrivateKey()),
            serial: Certificate.SerialNumber = Certificate.SerialNumber(),
            notBefore: Date = Date() - 3600, notAfter: Date = Date() + 86_400,
            subject: DistinguishedName? = nil,
            extensions: Certificate.Extensions? = nil,
            issuer: Certificate? = nil, issuerKey: Certificate.PrivateKey? = nil
        ) throws -> Certificate {
            let issuer = issuer ?? intermediate
            let signer = issuerKey ?? intermediateKey
            return try Certificate(
                version: .v3, serialNumber: serial, publicKey: key.publicKey, notValidBefore: notBefore, notValidAfter: notAfter,
                issuer: issuer.subject, subject: subject ?? genuineCertificate.subject,
                signatureAlgorithm: try SignatureAlgorithmDER.defaultAlgorithm(for: signer.publicKey),
                extensions: extensions ?? genuineCertificate.extensions, issuerPrivateKey: signer)
        }

        /// The genuine agent's extensions with `change` applied (by OID).
        func extensions(removing oids: [ASN1ObjectIdentifier] = [], adding added: [Certificate.Extension] = []) throws -> Certificate.Extensions {
            var list = Array(genuineCertificate.extensions).filter { !oids.contains($0.oid) && !added.map(\.oid).contains($0.oid) }
            list += added
            return try Certificate.Extensions(list)
        }

        /// `rootkeeper_certificate_validation_failures_total{reason}` from /metrics.
        func failures(_ reason: String) async throws -> Double {
            try await serve.metric("rootkeeper_certificate_validation_failures_total{reason=\"\(reason)\"}") ?? 0
        }

        /// Every `rootkeeper_certificate_validation_failures_total` series added up.
        func allFailures() async throws -> Double {
            try await serve.metrics().split(separator: "\n").filter { $0.hasPrefix("rootkeeper_certificate_validation_failures_total{") }
                .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
        }

        /// Presents `files` and checks the refusal: no HTTP status at all (refused in the handshake,
        /// curl 35/56), never a 200; one more failure in total, and it is one more under `reason`.
        func expectRefusedInHandshake(
            _ name: String, _ files: (cert: String, key: String), reason: String, sourceLocation: SourceLocation = #_sourceLocation
        ) async throws {
            let before = try await failures(reason)
            let totalBefore = try await allFailures()
            let result = try await present(files)
            #expect(result.status == 0 && [35, 56].contains(result.exit), "\(name): \(result.output)", sourceLocation: sourceLocation)
            let after = try await failures(reason)
            let totalAfter = try await allFailures()
            #expect(totalAfter == totalBefore + 1, "\(name): counted \(totalAfter - totalBefore) times", sourceLocation: sourceLocation)
            #expect(after == before + 1, "\(name): \(reason) went \(before) → \(after)", sourceLocation: sourceLocation)
        }

        /// curl to the agent status route with a client certificate: (HTTP status, curl exit code, output).
        func present(_ files: (cert: String, key: String)) async throws -> (status: Int, exit: Int32, output: String) {
            let result = try await ExternalTool("curl").runAsync(
                [
                    "-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", root,
                    "--cert", files.cert, "--key", files.key, statusURL,
                ], environment: serve.environment, timeout: 30)
            return (Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, result.status, result.output)
        }
    }

    /// Stops a ``genuineLoop(_:)`` and checks that it ran and every request was answered 200.
    static func expectGenuineServed(_ loop: Task<[Int], Never>, sourceLocation: SourceLocation = #_sourceLocation) async {
        loop.cancel()
        let statuses = await loop.value
        #expect(!statuses.isEmpty && statuses.allSatisfy { $0 == 200 }, "genuine agent: \(statuses)", sourceLocation: sourceLocation)
    }

    /// Genuine mTLS requests every 100 ms until cancelled; returns their HTTP statuses.
    static func genuineLoop(_ m: Matrix) -> Task<[Int], Never> {
        Task {
            var statuses: [Int] = []
            while !Task.isCancelled {
                let status = (try? await m.present(m.genuine).status) ?? -1
                statuses.append(status)
                try? await Task.sleep(for: .milliseconds(100))
            }
            return statuses
        }
    }

    @Test("forged and foreign client certificates are refused in the handshake, logged and counted by reason, while the genuine agent is served")
    func clientCertificateMatrix() async throws {
        let m = try await Matrix.start()
        defer { m.stop() }
        let other = try await TestPKI.make(rootAlgorithm: .p256)
        let selfKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let selfSigned = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: selfKey.publicKey, notValidBefore: Date() - 60, notValidAfter: Date() + 86_400,
            issuer: m.genuineCertificate.subject, subject: m.genuineCertificate.subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: m.genuineCertificate.extensions, issuerPrivateKey: selfKey)
        let foreign = try await other.agentCredentials(hostname: "genuine-01")
        let foreignKey = try Certificate.PrivateKey(pemEncoded: foreign.keyPEM)

        // A chain of 100: a leaf under 99 CAs, the top one signed by the real intermediate.
        var chain: [Certificate] = []
        var chainKeys: [Certificate.PrivateKey] = []
        var issuer = m.intermediate
        var issuerKey = m.intermediateKey
        for depth in 0..<99 {
            let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
            let ca = try m.forge(
                key: key, subject: try DistinguishedName { CommonName("hostile chain \(depth)") },
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(keyCertSign: true))
                },
                issuer: issuer, issuerKey: issuerKey)
            chain.insert(ca, at: 0)
            chainKeys.insert(key, at: 0)
            (issuer, issuerKey) = (ca, key)
        }
        let chainLeafKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let chainLeaf = try m.forge(key: chainLeafKey, issuer: issuer, issuerKey: issuerKey)

        // Revoked: a second genuine agent, revoked through the admin CLI.
        let revokedAgent = try await m.serve.enrollWithCurl("revoked-01", in: m.work, root: m.root)
        let revoke = try await m.serve.admin(["certs", "revoke", try ApplianceProcess.serial(of: revokedAgent.cert), "--reason", "keyCompromise"])
        try #require(revoke.succeeded, "\(revoke.output)")

        let genuineKeyPEM = try String(contentsOfFile: m.genuine.key, encoding: .utf8)
        let genuineKey = try Certificate.PrivateKey(pemEncoded: genuineKeyPEM)
        let otherKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        typealias Case = (name: String, files: (cert: String, key: String), reason: String, logged: String)
        let cases: [Case] = [
            (
                "expired",
                try m.write("expired", [m.forge(key: otherKey, notBefore: Date() - 10 * 86_400, notAfter: Date() - 86_400)], key: otherKey),
                "untrusted_chain", "TLS client certificate refused"
            ),
            (
                "not yet valid",
                try m.write("future", [m.forge(key: otherKey, notBefore: Date() + 86_400, notAfter: Date() + 10 * 86_400)], key: otherKey),
                "untrusted_chain", "TLS client certificate refused"
            ),
            (
                "serverAuth only",
                try m.write(
                    "server-auth",
                    [
                        m.forge(
                            key: otherKey,
                            extensions: m.extensions(adding: [try Certificate.Extension(try ExtendedKeyUsage([.serverAuth]), critical: false)]))
                    ], key: otherKey),
                "unknown_certificate", "revoked or unknown"
            ),
            (
                "no EKU",
                try m.write(
                    "no-eku", [m.forge(key: otherKey, extensions: m.extensions(removing: [.X509ExtensionID.extendedKeyUsage]))], key: otherKey),
                "unknown_certificate", "revoked or unknown"
            ),
            (
                "CA:TRUE",
                try m.write(
                    "ca-true",
                    [
                        m.forge(
                            key: otherKey,
                            extensions: m.extensions(adding: [
                                try Certificate.Extension(BasicConstraints.isCertificateAuthority(maxPathLength: 0), critical: true)
                            ]))
                    ], key: otherKey),
                "unknown_certificate", "revoked or unknown"
            ),
            (
                "same subject, other key", try m.write("same-subject", [m.forge(key: otherKey)], key: otherKey),
                "unknown_certificate", "revoked or unknown"
            ),
            (
                "a valid chain unknown to the store (never issued)",
                try m.write(
                    "never-issued",
                    [
                        m.forge(
                            key: otherKey, subject: try DistinguishedName { CommonName("never-issued-01") },
                            extensions: m.extensions(adding: [
                                try Certificate.Extension(
                                    SubjectAlternativeNames([
                                        .dnsName("never-issued-01"), .uniformResourceIdentifier("urn:uuid:\(UUID().uuidString.lowercased())"),
                                    ]), critical: false)
                            ]))
                    ], key: otherKey),
                "unknown_certificate", "revoked or unknown"
            ),
            (
                "same serial, other key",
                try m.write("same-serial", [m.forge(key: otherKey, serial: m.genuineCertificate.serialNumber)], key: otherKey),
                "unknown_certificate", "revoked or unknown"
            ),
            (
                "same serial and key, re-signed",
                try m.write(
                    "re-signed",
                    [m.forge(key: genuineKey, serial: m.genuineCertificate.serialNumber, notAfter: m.genuineCertificate.notValidAfter + 86_400)],
                    key: genuineKey),
                "unknown_certificate", "revoked or unknown"
            ),
            ("revoked", revokedAgent, "revoked", "revoked or unknown"),
            (
                "the intermediate itself", try m.write("intermediate", [m.intermediate], key: m.intermediateKey),
                "wrong_usage", "key usage does not allow signing"
            ),
            ("self-signed", try m.write("self-signed", [selfSigned], key: selfKey), "untrusted_chain", "TLS client certificate refused"),
            (
                "another CA's", try m.write("foreign", [foreign.certificate, other.intermediate], key: foreignKey), "untrusted_chain",
                "TLS client certificate refused"
            ),
            (
                "a chain of 100 certificates", try m.write("chain-100", [chainLeaf] + chain, key: chainLeafKey), "untrusted_chain",
                "TLS client certificate refused"
            ),
        ]

        // The genuine agent warm on the agent-status fast path (docs/performance.md#agent-status-fast-path)
        // while the hostile clients try: the fast answers counted during the matrix show it was taken.
        _ = try await m.present(m.genuine)
        let fastBefore = try await m.serve.metric(AgentStatusFastPath.answersMetric) ?? 0
        let loop = Self.genuineLoop(m)
        for hostile in cases { try await m.expectRefusedInHandshake(hostile.name, hostile.files, reason: hostile.reason) }
        await Self.expectGenuineServed(loop)
        let fastAfter = try await m.serve.metric(AgentStatusFastPath.answersMetric) ?? 0
        #expect(fastAfter > fastBefore, "the genuine agent's polls never took the fast path (\(fastBefore) → \(fastAfter))")
        let log = m.serve.process.output
        for hostile in cases { #expect(log.contains(hostile.logged), "\(hostile.name): no '\(hostile.logged)' in the log") }
        #expect(log.contains("client certificate does not verify"), "the untrusted-chain refusals name why")
        let afterAll = try await m.present(m.genuine)
        #expect(afterAll.status == 200, "\(afterAll.output)")
    }

    /// "Superseded after its grace period": a renewed agent's previous certificate is served
    /// during `ca.revoke_superseded_after_hours` (24, the default) and refused once it has passed.
    ///
    /// The grace is hours of policy time. Rather than a clock hook in the product (which a
    /// production build could be made to enable), the unchanged `serve` binary is restarted with
    /// its C library's wall clock 25 h ahead (``ShiftedClock``, preloaded): its own supersession
    /// pass (`SupersededRevocationService`, which runs at start) finds the grace over and revokes
    /// with reason superseded, and the handshake refuses the certificate from then on. curl stays
    /// on the real clock: what it checks (the server certificate) was issued before the shift and
    /// is current at both times.
    @Test(
        "a certificate superseded by a renewal is served during its grace and refused once ca.revoke_superseded_after_hours has passed (serve restarted 25 h ahead), logged as superseded and counted as revoked"
    )
    func supersededAfterGrace() async throws {
        var m = try await Matrix.start(configuration: "  renew_before_days: 90\n")
        defer { m.stop() }
        let previous = try await m.serve.enrollWithCurl("superseded-01", in: m.work, root: m.root)
        let successor = try await m.serve.reenrollWithCurl(previous, as: "superseded-01-renewed", in: m.work, root: m.root)
        // Within the grace both are served: what refuses the previous one later is the grace ending.
        #expect(try await m.present(previous).status == 200, "the superseded certificate during its grace")
        #expect(try await m.present(successor).status == 200)

        m = try await m.restarted("serve-25h", environment: try ShiftedClock(ahead: 25 * 3600, in: m.work).environment, enrollGenuine: false)
        let serve = m.serve
        let revokedAtStart = try await onOwnThread { serve.process.waitForOutput("revoked superseded certificates", timeout: 30) }
        #expect(revokedAtStart, "no supersession revocation at +25 h: \(serve.process.output)")
        let loop = Self.genuineLoop(m)
        try await m.expectRefusedInHandshake("superseded after its grace period", previous, reason: "revoked")
        #expect(try await m.present(successor).status == 200, "the successor is served")
        await Self.expectGenuineServed(loop)
        let refusals = serve.process.output.split(separator: "\n").filter { $0.contains("TLS client certificate refused") }
        #expect(refusals.contains { $0.contains("superseded") }, "the refusal names the reason: \(refusals)")
    }

    /// "From a retired issuer": after an intermediate renewal (Runbooks/intermediate-renewal.md)
    /// the old issuer stays trusted while it is retiring and is retired once every certificate it
    /// issued has expired (`IssuerRetirement`). Its key file is deleted then, but a copy taken
    /// before (a stolen backup) still signs: a client certificate made with it, current at every
    /// moment of the test, chains through the old issuer while it is retiring (the store refuses
    /// it, `unknown_certificate`) and is refused as `untrusted_chain` once the issuer is retired —
    /// also when the client sends the retired intermediate along, so the trust is the appliance's
    /// roster, not what the client presents.
    ///
    /// Retirement comes a day after the old issuer's last expiry (the store's, which includes the
    /// 365-day server certificate it issued), so the unchanged `serve` binary runs that far ahead
    /// (``ShiftedClock``) and retires at start. curl runs at the same shifted
    /// time: the server certificate `serve` rotates to there is dated then.
    @Test(
        "a client certificate from an issuer retired after intermediate renewal is refused as untrusted_chain (also with the retired intermediate sent along), logged and counted, while a genuine agent of the new issuer is served"
    )
    func retiredIssuer() async throws {
        var m = try await Matrix.start()
        defer { m.stop() }
        let oldIssuer = m.intermediate
        let oldID = try IssuerRoster.ski(oldIssuer)
        let oldAgent = try await m.serve.enrollWithCurl("old-issuer-01", in: m.work, root: m.root)
        m.serve.stop()
        // The renewal runs in this process, which the key files must belong to; the next start
        // gives the state back to the service user.
        let owner = try await ExternalTool("chown").runAsync(["-R", "\(geteuid()):\(getegid())", m.harness.state.root.path])
        try #require(owner.succeeded, "\(owner.output)")
        _ = try await m.harness.renew("renewal")
        let lastExpiry = try #require(
            try await SQLiteStore(path: m.harness.state.path("db", "rootkeeper.sqlite")).latestExpiry(issuerSKI: oldID, excluding: [.ocspSigner]))
        let ahead = lastExpiry.timeIntervalSinceNow + 86_400
        try #require(
            oldIssuer.notValidAfter > Date() + ahead + 30 * 86_400,
            "the old intermediate must outlive the test's clock, or it expires rather than retires")

        let stolenKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let stolen = try m.forge(key: stolenKey, notAfter: Date() + ahead + 30 * 86_400, issuer: oldIssuer, issuerKey: m.intermediateKey)
        let leafOnly = try m.write("retired-issuer", [stolen], key: stolenKey)
        let withIssuer = try m.write("retired-issuer-chain", [stolen, oldIssuer], key: stolenKey)

        // Retiring: the old issuer is still trusted (its genuine agent is served), so the forged
        // certificate gets as far as the store.
        m = try await m.restarted("serve-retiring", environment: [:], enrollGenuine: false)
        #expect(try await m.present(oldAgent).status == 200, "the retiring issuer's agent")
        try await m.expectRefusedInHandshake("signed with the retiring issuer's key", leafOnly, reason: "unknown_certificate")

        m = try await m.restarted("serve-retired", environment: try ShiftedClock(ahead: ahead, in: m.work).environment, enrollGenuine: true)
        let serve = m.serve
        let retired = try await onOwnThread { serve.process.waitForOutput("retired intermediate", timeout: 30) }
        #expect(retired, "the old intermediate was not retired at start: \(serve.process.output)")
        let loop = Self.genuineLoop(m)
        try await m.expectRefusedInHandshake("from a retired issuer", leafOnly, reason: "untrusted_chain")
        try await m.expectRefusedInHandshake("from a retired issuer, sent with it", withIssuer, reason: "untrusted_chain")
        await Self.expectGenuineServed(loop)
        let refusals = serve.process.output.split(separator: "\n").filter { $0.contains("TLS client certificate refused") }
        #expect(refusals.count >= 2, "both refusals are logged: \(serve.process.output)")
    }

    /// POSTs `body` to an EST route with the Bearer `token`; (status, body).
    static func est(_ m: Matrix, _ route: String, body: [UInt8], token: String) async throws -> (status: Int, body: String) {
        let file = m.work.file("est-body-\(UUID().uuidString)")
        try Data(body).write(to: URL(fileURLWithPath: file))
        let out = m.work.file("est-out-\(UUID().uuidString)")
        let result = try await ExternalTool("curl").runAsync(
            [
                "-sS", "--max-time", "20", "--cacert", m.root, "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/pkcs10",
                "--data-binary", "@\(file)", "-o", out, "-w", "%{http_code}", "\(m.serve.httpsURL)/.well-known/est/\(route)",
            ], timeout: 30)
        return (Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }

    /// An openssl key (`genpkey` arguments) and the base64 DER CSR for it naming the agent `hostname`.
    static func opensslCSR(_ m: Matrix, _ name: String, keyArguments: [String], hostname: String) async throws -> [UInt8] {
        let key = m.work.file("\(name).key")
        let der = m.work.file("\(name).csr.der")
        let generate = try await ExternalTool("openssl").runAsync(["genpkey"] + keyArguments + ["-out", key])
        guard generate.succeeded else { throw TestFailure("genpkey \(keyArguments): \(generate.output)") }
        let request = try await ExternalTool("openssl").runAsync([
            "req", "-new", "-key", key, "-subj", "/CN=\(hostname)", "-addext",
            "subjectAltName=DNS:\(hostname),URI:urn:uuid:\(UUID().uuidString.lowercased())",
            "-outform", "DER", "-out", der,
        ])
        guard request.succeeded else { throw TestFailure("req \(name): \(request.output)") }
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: der)))
    }

    static func base64(_ der: [UInt8]) -> [UInt8] { Array(Data(der).base64EncodedString(options: .lineLength64Characters).utf8) }

    @Test("hostile EST bodies are refused with the reason, the token survives every refusal, and the genuine agent is served meanwhile")
    func estBodies() async throws {
        let m = try await Matrix.start()
        defer { m.stop() }
        let token = try await m.serve.admin(["agents", "token", "--hostname", "est-01"])
        let value = try #require(token.stdout.split(whereSeparator: \.isWhitespace).last.map(String.init), "\(token.output)")
        let good = try await Self.opensslCSR(
            m, "good", keyArguments: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], hostname: "est-01")
        var wrongSignature = good
        wrongSignature[wrongSignature.count - 8] ^= 0x01  // inside the signature BIT STRING
        // 1 000 requested extensions (private OIDs), built with openssl's config syntax.
        let config = m.work.file("many.cnf")
        try
            ("[req]\ndistinguished_name = dn\nreq_extensions = ext\n[dn]\n[ext]\nsubjectAltName = DNS:est-01\n"
            + (1...1000).map { "1.3.6.1.4.1.55555.\($0) = ASN1:NULL\n" }.joined()).write(toFile: config, atomically: true, encoding: .utf8)
        let manyKey = m.work.file("many.key")
        let manyDER = m.work.file("many.csr.der")
        let many = try await ExternalTool("openssl").runAsync([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", manyKey,
            "-config", config, "-subj", "/CN=est-01", "-outform", "DER", "-out", manyDER,
        ])
        try #require(many.succeeded, "\(many.output)")

        let cases: [(name: String, body: [UInt8], reason: String)] = [
            ("empty", [], "empty"),
            ("1 byte", Array("A".utf8), "base64"),
            ("truncated DER", Self.base64(Array(good.prefix(good.count / 2))), "not a DER PKCS#10"),
            // Refused by size before it is parsed (limits.max_csr_bytes): 413.
            ("1 000 extensions", Self.base64(try [UInt8](Data(contentsOf: URL(fileURLWithPath: manyDER)))), "exceeds"),
            (
                "RSA-1024",
                Self.base64(
                    try await Self.opensslCSR(
                        m, "rsa1024", keyArguments: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"], hostname: "est-01")), "RSA"
            ),
            (
                "RSA e=3",
                Self.base64(
                    try await Self.opensslCSR(
                        m, "rsa-e3", keyArguments: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-pkeyopt", "rsa_keygen_pubexp:3"],
                        hostname: "est-01")), "exponent"
            ),
            (
                "P-521",
                Self.base64(
                    try await Self.opensslCSR(
                        m, "p521", keyArguments: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"], hostname: "est-01")), "not supported"
            ),
            (
                "Ed25519", Self.base64(try await Self.opensslCSR(m, "ed25519", keyArguments: ["-algorithm", "ED25519"], hostname: "est-01")),
                "not supported"
            ),
            ("wrong signature", Self.base64(wrongSignature), "signature"),
        ]
        let loop = Self.genuineLoop(m)
        for hostile in cases {
            let answer = try await Self.est(m, "simpleenroll", body: hostile.body, token: value)
            #expect((400..<500).contains(answer.status), "\(hostile.name): \(answer.status) \(answer.body)")
            #expect(answer.body.localizedCaseInsensitiveContains(hostile.reason), "\(hostile.name): \(answer.body)")
        }
        await Self.expectGenuineServed(loop)
        // Nothing was lost: the token still enrols a good CSR.
        let enrolled = try await Self.est(m, "simpleenroll", body: Self.base64(good), token: value)
        #expect(enrolled.status == 200, "\(enrolled.body)")
    }

    @Test(
        "hostile OCSP requests to the real responder: unknown issuer is unauthorized, 100 CertIDs and a 1 KB nonce are malformedRequest, SHA-1 and SHA-256 CertIDs are answered"
    )
    func ocspRequests() async throws {
        let m = try await Matrix.start()
        defer { m.stop() }
        let hashes = try OCSPIssuerHashes(issuer: m.intermediate)
        let serial = Array(m.genuineCertificate.serialNumber.bytes)
        let foreign = try OCSPIssuerHashes(issuer: try await TestPKI.make(rootAlgorithm: .p256).intermediate)
        func request(_ ids: [OCSPCertID], nonce: [UInt8]? = nil) -> [UInt8] {
            var tbs = CompactDER.wrap(tag: 0x30, ids.flatMap { CompactDER.wrap(tag: 0x30, $0.derEncoded) })
            if let nonce {
                let ext = CompactDER.wrap(tag: 0x30, OCSPNonce.oid + CompactDER.wrap(tag: 0x04, CompactDER.wrap(tag: 0x04, nonce)))
                tbs += CompactDER.wrap(tag: 0xA2, CompactDER.wrap(tag: 0x30, ext))
            }
            return CompactDER.wrap(tag: 0x30, CompactDER.wrap(tag: 0x30, tbs))
        }
        func post(_ body: [UInt8]) async throws -> OCSPResponse {
            let file = m.work.file("ocsp-\(UUID().uuidString).der")
            let out = file + ".resp"
            try Data(body).write(to: URL(fileURLWithPath: file))
            let result = try await ExternalTool("curl").runAsync([
                "-sS", "--max-time", "20", "-H", "Content-Type: application/ocsp-request", "--data-binary", "@\(file)", "-o", out,
                "\(m.serve.httpURL)/ocsp",
            ])
            guard result.succeeded else { throw TestFailure("curl /ocsp: \(result.output)") }
            return try OCSPResponse(derEncoded: [UInt8](Data(contentsOf: URL(fileURLWithPath: out))))
        }
        let loop = Self.genuineLoop(m)
        let unknownIssuer = try await post(request([try foreign.certID(serialNumber: .init(bytes: serial))]))
        #expect(unknownIssuer.status == .unauthorized)
        let hundred = try await post(request((1...100).map { try! hashes.certID(serialNumber: .init(bytes: [0x01, UInt8($0)])) }))
        #expect(hundred.status == .malformedRequest, "100 CertIDs is over the \(OCSPRequest.maximumCertIDs) limit")
        let bigNonce = try await post(request([try hashes.certID(serialNumber: .init(bytes: serial))], nonce: Array(repeating: 0x5A, count: 1024)))
        #expect(bigNonce.status == .malformedRequest, "a nonce over 32 octets (RFC 8954 §2.1)")
        for algorithm in [OCSPHashAlgorithm.sha1, .sha256] {
            let answered = try await post(request([try hashes.certID(serialNumber: .init(bytes: serial), hashAlgorithm: algorithm)]))
            #expect(answered.basicResponse?.responses.first?.status == .good, "\(algorithm)")
        }
        await Self.expectGenuineServed(loop)
        let metrics = try await m.serve.metrics()
        #expect(metrics.contains("rootkeeper_ocsp_responses_total{status=\"unauthorized\"} 1"), "\(metrics)")
        #expect(metrics.contains("rootkeeper_ocsp_responses_total{status=\"malformedRequest\"} 2"), "\(metrics)")
    }

    @Test(
        "garbage, SSLv2/SSLv3/TLS 1.0/1.1 hellos, renegotiation, a 1 MB certificate, HTTP smuggling and 10 000 headers are refused; pipelining is answered in order and a non-persistent request (HTTP/1.0) is answered once and closed; the genuine agent is served meanwhile"
    )
    func protocolAbuse() async throws {
        let m = try await Matrix.start()
        defer { m.stop() }
        let loop = Self.genuineLoop(m)
        let https = m.serve.https
        let http = m.serve.http

        // Raw bytes instead of a ClientHello: garbage, an SSLv2-format hello and an SSLv3 hello record.
        let sslv2: [UInt8] =
            [0x80, 0x2E, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10] + [
                0x07, 0x00, 0xC0, 0x05, 0x00, 0x80, 0x03, 0x00, 0x80,
                0x01, 0x00, 0x80, 0x06, 0x00, 0x40, 0x04, 0x00, 0x80, 0x02, 0x00, 0x80, 0x00, 0x00, 0x04,
            ] + Array(repeating: 0x11, count: 16)
        let sslv3Body: [UInt8] = [0x03, 0x00] + Array(repeating: 0x22, count: 32) + [0x00, 0x00, 0x02, 0x00, 0x2F, 0x01, 0x00]
        let sslv3: [UInt8] = [0x16, 0x03, 0x00, 0x00, UInt8(sslv3Body.count + 4), 0x01, 0x00, 0x00, UInt8(sslv3Body.count)] + sslv3Body
        for (name, bytes) in [
            ("garbage", Array("\u{00}\u{FF}GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + Array(repeating: 0xAB, count: 4096)),
            ("SSLv2 hello", sslv2), ("SSLv3 hello", sslv3),
        ] {
            let answer = try await onOwnThread { () -> RawTCPConnection.ReadResult in
                let connection = try RawTCPConnection(port: https)
                defer { connection.close() }
                _ = connection.send(bytes)
                let (reply, closed) = connection.readToEnd(silenceLimit: 5)
                // A TLS alert record at most (type 0x15), and the connection closed: never a ServerHello.
                return closed && (reply.isEmpty || reply.first == 0x15) ? .closed : .data(reply)
            }
            #expect(answer == .closed, "\(name): \(answer)")
        }
        let renegotiation = try await TLSRefusalTests.renegotiate(port: https, caFile: m.root)
        #expect(renegotiation.refused, "renegotiation: \(renegotiation.output)")
        for version in ["-tls1", "-tls1_1"] {
            let hello = try await ExternalTool("openssl").runAsync(
                ["s_client", "-connect", "127.0.0.1:\(https)", version, "-cipher", "DEFAULT:@SECLEVEL=0", "-CAfile", m.root], stdin: Data())
            #expect(!hello.succeeded && (hello.output.contains("Cipher is (NONE)") || hello.output.contains("alert")), "\(version): \(hello.output)")
        }

        // A 1 MB client certificate (one huge extension), signed by the real intermediate.
        let bigKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let huge = Certificate.Extension(oid: [1, 3, 6, 1, 4, 1, 55555, 1], critical: false, value: Array(repeating: 0x41, count: 1 << 20)[...])
        let big = try m.write("big", [m.forge(key: bigKey, extensions: m.extensions(adding: [huge]))], key: bigKey)
        let oversizedBefore = try await m.failures("oversized_message")
        let bigResult = try await m.present(big)
        #expect(bigResult.status == 0 && bigResult.exit != 0, "1 MB certificate: \(bigResult.output)")
        // BoringSSL refuses it before our verifier runs; the refusal is still logged and counted.
        #expect(try await m.failures("oversized_message") == oversizedBefore + 1)
        #expect(m.serve.process.output.contains("a handshake message exceeds the size limit"), "\(m.serve.process.output.suffix(2000))")

        // HTTP on the plain listener: smuggling (Content-Length with Transfer-Encoding), 10 000 headers.
        let smuggle =
            "POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        let headers = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (0..<10_000).map { "X-H\($0): v\r\n" }.joined() + "\r\n"
        for (name, request) in [("smuggling", smuggle), ("10 000 headers", headers)] {
            let reply = try await onOwnThread { () -> String in
                let connection = try RawTCPConnection(port: http)
                defer { connection.close() }
                _ = connection.send(request)
                return String(decoding: connection.readToEnd(silenceLimit: 5).bytes, as: UTF8.self)
            }
            #expect(reply.hasPrefix("HTTP/1.1 4"), "\(name): \(reply.prefix(300))")
            #expect(!reply.contains("rootkeeper_"), "\(name): a smuggled request was answered: \(reply.prefix(300))")
        }

        // Pipelined requests are answered in order, each once. A request that does not keep its
        // connection (RFC 9112 §9.3: HTTP/1.0 without keep-alive, `Connection: close` in any case)
        // gets exactly one answer, saying `Connection: close`, and the server closes the
        // connection after it: within 5 s of silence here, where the idle timeout is 60 s. An
        // HTTP/1.0 request with keep-alive keeps it (a second request on it is answered).
        let (pipelined, closing, kept) = try await onOwnThread { () -> (String, [(String, String, Bool)], (String, String)) in
            let connection = try RawTCPConnection(port: http)
            defer { connection.close() }
            _ = connection.send(
                "GET /health HTTP/1.1\r\nHost: a\r\n\r\nGET /ca/chain.pem HTTP/1.1\r\nHost: a\r\n\r\nGET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
            )
            let first = String(decoding: connection.readToEnd(silenceLimit: 5).bytes, as: UTF8.self)
            var closing: [(String, String, Bool)] = []
            for (name, request) in [
                ("HTTP/1.0 without Host", "GET /health HTTP/1.0\r\n\r\n"),
                ("HTTP/1.1 with Connection: Close", "GET /health HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n"),
            ] {
                let one = try RawTCPConnection(port: http)
                defer { one.close() }
                _ = one.send(request)
                let reply = one.readToEnd(silenceLimit: 5)
                closing.append((name, String(decoding: reply.bytes, as: UTF8.self), reply.closed))
            }
            let keepAlive = try RawTCPConnection(port: http)
            defer { keepAlive.close() }
            _ = keepAlive.send("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let firstAnswer = "\(keepAlive.read(waitingUpTo: 10))"
            _ = keepAlive.send("GET /health HTTP/1.0\r\n\r\n")
            let secondAnswer = String(decoding: keepAlive.readToEnd(silenceLimit: 5).bytes, as: UTF8.self)
            return (first, closing, (firstAnswer, secondAnswer))
        }
        #expect(pipelined.components(separatedBy: "HTTP/1.1 200").count - 1 == 3, "\(pipelined.prefix(600))")
        #expect(pipelined.contains("BEGIN CERTIFICATE"), "the middle request was answered")
        for (name, reply, closed) in closing {
            #expect(reply.components(separatedBy: "HTTP/1.").count - 1 == 1, "\(name): \(reply.prefix(300))")
            #expect(reply.lowercased().contains("connection: close"), "\(name): \(reply.prefix(300))")
            #expect(closed, "\(name): the connection was held open after the answer")
        }
        #expect(kept.0.hasPrefix("HTTP/1.1 200") && kept.1.hasPrefix("HTTP/1.1 200"), "HTTP/1.0 keep-alive: \(kept)")

        await Self.expectGenuineServed(loop)
        let health = try await Curl.run(["\(m.serve.httpURL)/health"])
        #expect(health.status == 200, "\(health.body)")
    }

    /// Slow loris on every listener of the real `serve`, all at once while the genuine agent is
    /// served: the plain HTTP listener; inside an established TLS session on the HTTPS listener,
    /// which carries both the mTLS agent API and EST (`openssl s_client` completes the handshake,
    /// with the genuine agent's certificate for the agent API, without one for EST, whose Bearer
    /// token it sends); and the admin socket. Each client sends the start of a request and then
    /// one byte a second that never ends a header block or line (at most 40 s).
    ///
    /// The HTTP idle timeout (`limits.idle_timeout_seconds`, 3 here) is also the header timeout:
    /// it runs until a complete request head has been read, so both HTTP listeners close within
    /// it. The admin socket gives a request 5 s to arrive whole (its per-read timeout alone would
    /// let a byte every few seconds hold its one thread, and every admin command with it, for as
    /// long as the client liked), says so and logs it; an admin command sent meanwhile is answered
    /// after it. Nothing here is a certificate refusal, so nothing is counted: the close is the
    /// refusal.
    @Test(
        "slow loris on every listener (plain HTTP, inside TLS sessions for the mTLS agent API and EST, the admin socket) is closed within its timeout while the genuine agent and an admin command are served"
    )
    func slowLorisOnEveryListener() async throws {
        let m = try await Matrix.start(configuration: "limits:\n  idle_timeout_seconds: 3\n")
        defer { m.stop() }
        let token = try await m.serve.admin(["agents", "token", "--hostname", "loris-01"])
        let value = try #require(token.stdout.split(whereSeparator: \.isWhitespace).last.map(String.init), "\(token.output)")
        let loop = Self.genuineLoop(m)
        async let agentAPI = Self.dribble(
            m, head: "GET /api/v1/agent/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", clientCertificate: m.genuine)
        async let est = Self.dribble(
            m,
            head:
                "POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(value)\r\nContent-Type: application/pkcs10\r\nX-Slow: ",
            clientCertificate: nil)
        let http = m.serve.http
        let adminSocket = m.harness.state.adminSocket
        async let plain = onOwnThread { try Self.dribble(RawTCPConnection(port: http), head: "GET /health HTTP/1.1\r\nHost: a\r\nX-Slow: ") }
        async let admin = onOwnThread {
            try Self.dribble(RawTCPConnection(unixSocket: adminSocket), head: "{\"command\": \"agents.list\", \"x\": \"")
        }
        // Sent while the admin dribbler holds the socket's one thread: answered once it is let go.
        try await Task.sleep(for: .seconds(1))
        let list = try await m.serve.admin(["agents", "list"])
        #expect(list.succeeded, "an admin command during the admin slow loris: \(list.output)")

        for (name, session) in [("agent API (mTLS)", try await agentAPI), ("EST", try await est)] {
            #expect(session.output.contains("CONNECTION ESTABLISHED"), "\(name): no TLS session: \(session.output)")
            #expect(session.seconds < 10, "\(name): held \(session.seconds) s with an idle timeout of 3 s: \(session.output)")
            #expect(!session.output.contains("HTTP/1."), "\(name): an incomplete request was answered: \(session.output)")
        }
        let plainSession = try await plain
        #expect(plainSession.closed && plainSession.seconds < 10, "plain HTTP: \(plainSession)")
        #expect(plainSession.reply.isEmpty, "plain HTTP: an incomplete request was answered: \(plainSession.reply)")
        let adminSession = try await admin
        #expect(adminSession.closed && adminSession.seconds < 10, "admin socket: \(adminSession)")
        #expect(adminSession.reply.contains("not complete within 5 s"), "admin socket: \(adminSession.reply)")
        let logged = m.serve.process.output.split(separator: "\n").contains { $0.contains("bad admin request") && $0.contains("not complete within") }
        #expect(logged, "the admin slow loris is logged: \(m.serve.process.output)")
        await Self.expectGenuineServed(loop)
    }

    /// Sends `head`, then one byte a second (at most 40) until the server closes `connection`;
    /// returns what it answered, whether it closed, and after how long.
    static func dribble(_ connection: RawTCPConnection, head: String) -> (reply: String, closed: Bool, seconds: Double) {
        defer { connection.close() }
        let started = Date()
        var reply: [UInt8] = []
        connection.send(head)
        for _ in 0..<40 {
            switch connection.read(waitingUpTo: 1) {
            case .data(let bytes): reply += bytes
            case .closed: return (String(decoding: reply, as: UTF8.self), true, Date().timeIntervalSince(started))
            case .nothing: break
            }
            guard connection.send("a") else { break }
        }
        let rest = connection.readToEnd(silenceLimit: 1)
        return (String(decoding: reply + rest.bytes, as: UTF8.self), rest.closed, Date().timeIntervalSince(started))
    }

    /// `openssl s_client` to the HTTPS listener (with `clientCertificate` when given) sending
    /// `head` and then one byte a second, at most 40; returns its output and how long the session
    /// lasted (it ends when the server closes it).
    static func dribble(_ m: Matrix, head: String, clientCertificate: (cert: String, key: String)?) async throws -> (output: String, seconds: Double)
    {
        let identity = clientCertificate.map { "-cert '\($0.cert)' -key '\($0.key)'" } ?? ""
        let script = """
            { printf '%s' "$HEAD"; i=0; while [ $i -lt 40 ]; do printf a; sleep 1; i=$((i+1)); done; } \
              | openssl s_client -connect 127.0.0.1:\(m.serve.https) -CAfile '\(m.root)' \(identity) -brief -ign_eof 2>&1
            """
        let started = Date()
        let result = try await ExternalTool("sh").runAsync(["-c", script], environment: ["HEAD": head], timeout: 60)
        return (result.output, Date().timeIntervalSince(started))
    }
}
