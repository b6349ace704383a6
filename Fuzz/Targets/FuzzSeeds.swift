import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

@testable import ApplianceKit
@testable import CeremonyKit
@testable import PKICore

/// Seed corpora made by the product's own encoders at run time (`ROOTKEEPER_FUZZ_SEEDS=<dir>`,
/// scripts/fuzz/run.sh): real CSRs, OCSP requests and responses, CRLs, encrypted keys, bundles,
/// root databases, transcripts, plans, backup headers and admin lines, so the fuzzer starts from
/// valid artefacts of the current formats instead of guessing them, and the seeds follow the
/// formats when they change.
public enum FuzzSeeds {
    /// Writes `<directory>/<target>/seed-N` for every target.
    public static func write(to directory: String) throws {
        for (target, inputs) in try make() {
            let folder = (directory as NSString).appendingPathComponent(target)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for (index, input) in inputs.enumerated() {
                try Data(input).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("seed-\(index)")))
            }
        }
    }

    /// The seed inputs by target name.
    public static func make() throws -> [String: [[UInt8]]] {
        let now = Date(timeIntervalSince1970: 1_780_315_200)
        var seeds: [String: [[UInt8]]] = [:]

        // A CA, a leaf and CSRs for P-256 and RSA-2048 keys.
        let caKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let caName = try DistinguishedName { CommonName("Fuzz Seed CA") }
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(bytes: [0x01, 0x23]), publicKey: caKey.publicKey,
            notValidBefore: now - 86_400, notValidAfter: now + 86_400 * 365, issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: caKey.publicKey)
            },
            issuerPrivateKey: caKey)
        let leafKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let rsaKey = Certificate.PrivateKey(try _RSA.Signing.PrivateKey(keySize: .bits2048))
        var csrs: [[UInt8]] = []
        for key in [leafKey, rsaKey] {
            let csr = try CertificateSigningRequest(
                version: .v1, subject: try DistinguishedName { CommonName("agent-01.example.test") }, privateKey: key,
                attributes: try CertificateSigningRequest.Attributes([
                    .init(
                        ExtensionRequest(
                            extensions: try Certificate.Extensions {
                                SubjectAlternativeNames([.dnsName("agent-01.example.test")])
                            }))
                ]))
            csrs.append(try PEMCodec.der(csr))
            csrs.append(Array(try PEMCodec.pem(csr).utf8))
        }
        seeds["csr"] = csrs
        seeds["est-body"] = csrs.enumerated().filter { $0.offset % 2 == 0 }.map {
            Array(Data($0.element).base64EncodedString(options: .lineLength64Characters).utf8)
        }
        seeds["pem"] = [
            Array(try PEMCodec.pem(ca).utf8), try PEMCodec.der(ca), Array(try PEMCodec.pem(caKey.publicKey).utf8),
            try PKCS7CertsOnly(certificates: [ca]).derEncoded(),
        ]

        // OCSP: requests of one and several CertIDs, SHA-1 and SHA-256, with and without a nonce.
        let hashes = try OCSPIssuerHashes(issuer: ca)
        let ids = [
            try hashes.certID(serialNumber: .init(bytes: [0x4A, 0x11])),
            try hashes.certID(serialNumber: .init(bytes: [0x7F, 1, 2, 3]), hashAlgorithm: .sha256),
        ]
        // OCSPRequest ::= SEQUENCE { tbsRequest SEQUENCE { requestList SEQUENCE OF Request { reqCert }, [2] EXPLICIT Extensions } } (RFC 6960 §4.1.1)
        func request(_ ids: [OCSPCertID], nonce: OCSPNonce?) -> [UInt8] {
            var tbs = CompactDER.wrap(tag: DERTag.sequence, ids.flatMap { CompactDER.wrap(tag: DERTag.sequence, $0.derEncoded) })
            if let nonce { tbs += CompactDER.wrap(tag: 0xA2, CompactDER.wrap(tag: DERTag.sequence, nonce.extensionDER)) }
            return CompactDER.wrap(tag: DERTag.sequence, CompactDER.wrap(tag: DERTag.sequence, tbs))
        }
        seeds["ocsp-request"] = [request([ids[0]], nonce: nil), request(ids, nonce: try OCSPNonce(Array(repeating: 9, count: 16)))]

        // DER: a CRL with entries, reasons and an IDP, and an OCSP response.
        let entries = [
            try RevokedCertificate(
                serialNumber: .init(bytes: [0x4A, 0x11]), revocationDate: now - 60, reason: .keyCompromise, invalidityDate: now - 3600),
            try RevokedCertificate(serialNumber: .init(bytes: [0x80, 0x01]), revocationDate: now - 30),
        ]
        let tbs = try TBSCertList(
            issuerCertificate: ca, thisUpdate: now, nextUpdate: now + 86_400, revokedCertificates: entries, crlNumber: CRLNumber(7),
            issuingDistributionPoint: try IssuingDistributionPoint(uri: "http://ca.example.test/crl", onlyContainsUserCerts: true))
        let crlSigner = try CRLSigner(issuerCertificate: ca, privateKey: caKey)
        let crl = try blocking { try await crlSigner.sign(tbs, previousCRLNumber: nil) }
        let singles = [
            try OCSPSingleResponse(certID: ids[0], status: .revoked(time: now - 60, reason: .superseded), thisUpdate: now, nextUpdate: now + 3600)
        ]
        let ocspSigner = try OCSPResponseSigner(responderCertificate: ca, privateKey: caKey)
        let ocsp = try blocking { try await ocspSigner.sign(singles, producedAt: now, nonce: nil) }
        seeds["der"] = [crl.derEncoded, ocsp, try PEMCodec.der(ca)]

        // Encrypted PKCS#8 under the target's passphrase, at a low (still accepted) scrypt cost.
        seeds["pkcs8"] = [
            Array(
                try EncryptedPrivateKey.encrypt(
                    leafKey, passphrase: Array("fuzz passphrase".utf8), random: SeededRandomSource(seed: 1),
                    cost: EncryptedPrivateKey.ScryptCost(n: 1 << 4, r: 8, p: 1)
                ).utf8)
        ]

        // Media bundle: a real MANIFEST, and SUMMARY \0 payload for the verifying path.
        let summary = Array("intermediate CSR for Fuzz Seed CA\n".utf8)
        let bundle = try MediaBundle(payload: ["csr.pem": csrs[1]], summary: String(decoding: summary, as: UTF8.self))
        seeds["bundle"] = [Array(bundle.manifest.text.utf8), summary + [0] + csrs[1], csrs[0], crl.derEncoded]

        // Root database and token anchor.
        let spki = SHA256.hash(data: caKey.publicKey.subjectPublicKeyInfoBytes).hexString
        var database = RootDatabase(
            root: .init(
                subject: "CN=Fuzz Seed CA", keyLabel: "root-ca-2026", spkiSHA256: spki,
                certificateSHA256: spki, notBefore: now, notAfter: now + 86_400))
        database.issued = [
            .init(
                serial: "4a11", subject: "CN=Intermediate", spkiSHA256: spki, certificateSHA256: spki, notBefore: now, notAfter: now + 1,
                issuedAt: now)
        ]
        database.revoked = [.init(serial: "4a11", reason: "superseded", revokedAt: now, invalidityDate: now)]
        database.lastCRLNumber = 3
        database.crlDue = now
        seeds["root-db"] = [[UInt8](try database.encoded())]

        // A transcript of three chained entries.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("rootkeeper-fuzz-seed-\(getpid()).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try? FileManager.default.removeItem(atPath: scratch)
        let transcript = try Transcript(path: scratch, clock: FixedClock(now))
        try transcript.append(actor: .init(role: "operator", name: "A. Officer"), event: "ceremony.start", inputs: ["plan": spki])
        try transcript.append(
            actor: .init(role: "operator", name: "A. Officer"), event: "key.generate", outputs: ["spki": spki],
            token: .init(label: "root", serial: "1234", model: "SoftHSM v2", manufacturer: "SoftHSM project"))
        try transcript.append(actor: .init(role: "witness", name: "B. Witness"), event: "ceremony.close", details: ["head": "confirmed"])
        seeds["transcript"] = [Array(try Data(contentsOf: URL(fileURLWithPath: scratch)))]

        // Plans of every kind and an environment (docs/ceremony.md).
        seeds["yaml"] =
            CeremonyPlan.Kind.allCases.map { Array(PlanTemplate.text(for: $0, rehearsal: true, expectedSPKI: spki).utf8) } + [
                Array(
                    """
                    module: /usr/lib/softhsm/libsofthsm2.so
                    token: "pkcs11:token=root-ca"
                    pin-source: prompt
                    operator: "A. Officer"
                    rehearsal: false
                    card-reader: "Virtual PCD 00 00"

                    """.utf8)
            ]

        // Backup: header (scrypt and X25519) followed by one sealed chunk under the target's fixed key; a payload.
        let header = try BackupHeader(kdf: .minimum, salt: Array(repeating: 1, count: 32), noncePrefix: Array(repeating: 2, count: 7))
        let stream = BackupStream(key: SymmetricKey(data: [UInt8](repeating: 7, count: 32)), header: header)
        // The files a payload must hold (BackupManifest.parse): the database and both CA certificates.
        let backupFiles: [(String, [UInt8])] = [
            (BackupManifest.databasePath, Array("SQLite format 3\u{0}".utf8)), ("ca/root-ca.crt", Array(try PEMCodec.pem(ca).utf8)),
            ("ca/intermediate-ca.crt", Array(try PEMCodec.pem(ca).utf8)), (BackupManifest.configurationPath, Array("a: b\n".utf8)),
        ]
        let manifest = BackupManifest(
            format: 1, createdAt: now, sourceStateDirectory: "/var/lib/rootkeeper", intermediateKey: "pkcs11",
            files: backupFiles.map { .init(path: $0.0, size: $0.1.count, sha256: SHA256.hash(data: $0.1).hexString) })
        let payload = try BackupManifest.payload(manifest: manifest, contents: backupFiles.map(\.1))
        seeds["backup"] = [header.encoded + (try stream.seal(payload[...], index: 0, final: true)), payload]

        // Admin socket lines.
        seeds["admin"] = [
            Array(try JSONEncoder().encode(AdminRequest(command: "status"))),
            Array(try JSONEncoder().encode(AdminRequest(command: "revoke", arguments: ["serial": "4a11", "reason": "keyCompromise"]))),
        ]

        // PKCS#11 URIs (RFC 7512 §2.3) and token selectors.
        seeds["pkcs11-uri"] = [
            "pkcs11:token=root-ca", "pkcs11:token=Root%20CA;serial=0123456789abcdef;manufacturer=SoftHSM%20project;model=SoftHSM%20v2",
            "pkcs11:object=root-key;id=%01%02;type=private", "root-ca", "serial:0123456789abcdef",
        ].map { Array($0.utf8) }

        return seeds
    }

    /// Runs async signing from the synchronous fuzzer initialiser.
    private static func blocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { box.result = .success(try await work()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    private final class ResultBox<T>: @unchecked Sendable { var result: Result<T, any Error>? }
}
