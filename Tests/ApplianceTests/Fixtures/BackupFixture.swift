import ApplianceKit
import CAStore
import Foundation
import PKICore
import Registration
import TestSupport
import X509

/// A state directory as the appliance leaves it — a real SQLite store with issued certificates
/// (through `IntermediateCA`), the CA certificates, an encrypted intermediate key file, a signed
/// CRL (number 7), server certificate and key, audit journal — plus a backup passphrase file.
struct BackupFixture {
    let work: TemporaryDirectory
    let state: StateDirectory
    let pki: TestPKI
    let serials: [String]
    let passphraseFile: String
    static let passphrase = "correct horse battery staple 42"
    static let crlNumber: UInt64 = 7

    var passphrase: SecretBytes { SecretBytes(utf8: Self.passphrase) }

    static func make(auditPadding: Int = 0) async throws -> BackupFixture {
        // The authority fixture with its store inside the state, as the appliance keeps it.
        let harness = try await CAHarness.make(storeInState: true)
        let (work, state, pki, ca) = (harness.directory, harness.state, harness.pki, harness.ca)
        var serials: [String] = []
        for hostname in ["web-01", "db-01"] {
            let token = try await ca.createToken(hostname: hostname, caller: CAHarness.admin)
            let request = try CAHarness.agentCSR(hostname: hostname)
            guard case .issued(let certificate, _) = try await ca.enroll(csrDER: request.der, token: token, source: "127.0.0.1") else {
                throw TestFailure("enrolment of \(hostname) did not issue")
            }
            serials.append(PKICore.Hex.encode(certificate.serialNumber.bytes))
        }

        try PEMCodec.pem(pki.root).write(toFile: state.rootCertificate, atomically: true, encoding: .utf8)
        try PEMCodec.pem(pki.intermediate).write(toFile: state.intermediateCertificate, atomically: true, encoding: .utf8)
        try PEMCodec.pemChain([pki.intermediate, pki.root]).write(toFile: state.caChain, atomically: true, encoding: .utf8)
        let key = try EncryptedPrivateKey.encrypt(
            pki.intermediateKey, passphrase: Array("intermediate key passphrase".utf8), random: SystemRandomSource())
        FileManager.default.createFile(atPath: state.intermediateKey, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600])
        let now = pki.clock.now()
        let tbs = try TBSCertList(issuerCertificate: pki.intermediate, thisUpdate: now, nextUpdate: now + 86_400, crlNumber: CRLNumber(crlNumber))
        let crl = try await CRLSigner(issuerCertificate: pki.intermediate, privateKey: pki.intermediateKey).sign(tbs, previousCRLNumber: nil)
        FileManager.default.createFile(
            atPath: state.path("crl", "intermediate.crl"), contents: Data(crl.derEncoded), attributes: [.posixPermissions: 0o644])
        let server = try await pki.issueServer(fqdn: "ca.example.test")
        try PEMCodec.pem(server.certificate).write(toFile: state.serverCertificate, atomically: true, encoding: .utf8)
        try PEMCodec.pemChain([server.certificate, pki.intermediate]).write(toFile: state.serverChain, atomically: true, encoding: .utf8)
        FileManager.default.createFile(
            atPath: state.serverKey, contents: Data(try server.privateKey.serializeAsPEM().pemString.utf8), attributes: [.posixPermissions: 0o600])
        let audit = "{\"seq\":1,\"event\":\"issue\"}\n" + String(repeating: "{\"seq\":0,\"event\":\"padding\"}\n", count: auditPadding / 28 + 1)
        FileManager.default.createFile(atPath: state.path("audit", "audit.jsonl"), contents: Data(audit.utf8), attributes: [.posixPermissions: 0o600])

        let passphraseFile = work.file("backup.passphrase")
        FileManager.default.createFile(atPath: passphraseFile, contents: Data((passphrase + "\n").utf8), attributes: [.posixPermissions: 0o600])
        return BackupFixture(work: work, state: state, pki: pki, serials: serials, passphraseFile: passphraseFile)
    }

    /// Writes a backup with the cheapest accepted scrypt cost (tests derive many keys).
    func backup(to name: String = "state.rkbackup", chunkSize: Int = BackupHeader.defaultChunkSize) throws -> (path: String, summary: BackupSummary) {
        let path = work.file(name)
        let summary = try BackupWriter(kdf: .minimum, chunkSize: chunkSize).create(
            state: state, configurationFile: nil, passphrase: passphrase, destination: path)
        return (path, summary)
    }

    /// The bytes of a file under the state directory.
    func bytes(_ relative: String, in root: String? = nil) -> [UInt8]? {
        FileManager.default.contents(atPath: ((root ?? state.root.path) as NSString).appendingPathComponent(relative)).map(Array.init)
    }

    func remove() { work.remove() }
}
