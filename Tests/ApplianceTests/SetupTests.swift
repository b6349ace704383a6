import ApplianceKit
import CAStore
import Foundation
import PKICore
import Registration
import SecureFiles
import TestSupport
import Testing
import X509

@Suite("appliance init, intermediate install and key loading")
struct SetupTests {
    @Test("init writes an encrypted 0600 key and a CSR bundle that sha256sum -c and openssl req -verify accept")
    func initWritesBundle() async throws {
        let harness = try await SetupHarness.make()
        defer { harness.remove() }
        let result = try await harness.initialize()
        let bundle = (harness.media as NSString).appendingPathComponent("intermediate-csr")
        #expect(result.bundlePath == bundle)

        let sums = try ExternalTool("sha256sum").run(["-c", "MANIFEST"], currentDirectory: bundle)
        #expect(sums.succeeded, "sha256sum: \(sums.output)")
        let verify = try ExternalTool("openssl").run(["req", "-verify", "-noout", "-in", "\(bundle)/intermediate.csr"])
        #expect(verify.succeeded, "openssl req: \(verify.output)")
        let summary = try String(contentsOfFile: "\(bundle)/SUMMARY", encoding: .utf8)
        #expect(summary.contains("SPKI SHA-256: \(result.spkiSHA256)"))
        #expect(summary.contains("CN=Rootkeeper Intermediate"))

        #expect(try StateDirectory.modeForTests(harness.state.intermediateKey) == 0o600)
        #expect(try StateDirectory.modeForTests(harness.state.caPrivateDirectory) == 0o700)
        let keyText = try String(contentsOfFile: harness.state.intermediateKey, encoding: .utf8)
        #expect(keyText.contains("ENCRYPTED PRIVATE KEY"))
        // openssl decrypts it with the passphrase (scrypt PKCS#8) and finds the CSR's key.
        let passFile = harness.directory.file("pass")
        try SecureFile.writeExclusive(Array("correct horse battery staple".utf8), to: passFile)
        let pub = try ExternalTool("openssl").run(["pkey", "-in", harness.state.intermediateKey, "-passin", "file:\(passFile)", "-pubout"])
        #expect(pub.succeeded, "openssl pkey: \(pub.output)")

        let again = await #expect(throws: ApplianceError.self) { _ = try await harness.initialize() }
        #expect(
            again?.code == .unsafeStateDirectory && again?.reason.contains("this appliance is already initialised") == true,
            "\(String(describing: again))")
    }

    @Test("install refuses a wrong root fingerprint, a certificate for another key and a tampered bundle; accepts the right one")
    func install() async throws {
        let harness = try await SetupHarness.make()
        defer { harness.remove() }
        let result = try await harness.initialize()

        let good = harness.directory.file("good-cert")
        try await harness.ceremony(csrBundle: result.bundlePath, out: good)
        let otherRoot = try await TestPKI.make()
        let unpinned = #expect(throws: ApplianceError.self) {
            _ = try ApplianceSetup.install(stateDirectory: harness.state, from: good, rootFingerprint: try ApplianceSetup.fingerprint(otherRoot.root))
        }
        #expect(unpinned?.code == .forbidden && unpinned?.reason.contains("does not match the expected") == true, "\(String(describing: unpinned))")

        let otherKey = harness.directory.file("other-key-cert")
        try await harness.ceremony(csrBundle: result.bundlePath, out: otherKey, overrideKey: try KeyAlgorithm.p256.generatePrivateKey().publicKey)
        do {
            _ = try ApplianceSetup.install(stateDirectory: harness.state, from: otherKey, rootFingerprint: try harness.rootFingerprint)
            Issue.record("a certificate for another key must be refused")
        } catch let error as ApplianceError {
            #expect(error.reason.contains("another key"))
        }

        let tampered = harness.directory.file("tampered-cert")
        try await harness.ceremony(csrBundle: result.bundlePath, out: tampered)
        try (try String(contentsOfFile: "\(tampered)/SUMMARY", encoding: .utf8) + "edited\n")
            .write(toFile: "\(tampered)/SUMMARY", atomically: false, encoding: .utf8)
        let altered = #expect(throws: ApplianceError.self) {
            _ = try ApplianceSetup.install(stateDirectory: harness.state, from: tampered, rootFingerprint: try harness.rootFingerprint)
        }
        #expect(
            altered?.code == .malformedRequest && altered?.reason.hasSuffix("is refused: 'SUMMARY' does not match its SHA-256 in MANIFEST") == true,
            "\(String(describing: altered))")
        #expect(!FileManager.default.fileExists(atPath: harness.state.intermediateCertificate))

        let installed = try ApplianceSetup.install(stateDirectory: harness.state, from: good, rootFingerprint: try harness.rootFingerprint)
        #expect(installed.root == harness.pki.root)
        let verify = try ExternalTool("openssl").run([
            "verify", "-CAfile", harness.state.rootCertificate, harness.state.intermediateCertificate,
        ])
        #expect(verify.succeeded, "openssl verify: \(verify.output)")

        // Serve-time loading: the decrypted key signs for the installed intermediate.
        let key = try IntermediateKeyLoader.loadFileKey(at: harness.state.intermediateKey, passphrase: harness.passphrase)
        #expect(key.publicKey == installed.intermediate.publicKey)
        let store = try SQLiteStore(path: harness.directory.file("ca.sqlite"))
        let ca = try IntermediateCA.load(
            state: harness.state, privateKey: key, store: store, settings: CASettings(organization: "Rootkeeper Test"),
            events: .unobserved, crlPublication: NoCRLPublication())
        #expect(try await ca.caCertificates() == [installed.intermediate, harness.pki.root])
        let wrongPassphrase = #expect(throws: ApplianceError.self) {
            _ = try IntermediateKeyLoader.loadFileKey(at: harness.state.intermediateKey, passphrase: SecretBytes(utf8: "wrong passphrase"))
        }
        #expect(
            wrongPassphrase?.code == .forbidden && wrongPassphrase?.reason.hasSuffix("the passphrase is wrong or the key file is damaged") == true,
            "\(String(describing: wrongPassphrase))")
    }

    @Test("a key file readable by group or other is refused, naming the file and its mode")
    func keyModeRefused() async throws {
        let harness = try await SetupHarness.make()
        defer { harness.remove() }
        _ = try await harness.initialize()
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: harness.state.intermediateKey)
        do {
            _ = try IntermediateKeyLoader.loadFileKey(at: harness.state.intermediateKey, passphrase: harness.passphrase)
            Issue.record("a 0644 key must be refused")
        } catch let error as ApplianceError {
            #expect(error.reason.contains(harness.state.intermediateKey))
            #expect(error.reason.contains("0644"))
            #expect(!error.reason.contains("correct horse"))
        }
    }

    @Test("renewal: a new pending key keeps the old one until install, then both intermediates are served")
    func renewal() async throws {
        let harness = try await SetupHarness.make()
        defer { harness.remove() }
        let first = try await harness.initialize()
        let firstCert = harness.directory.file("first-cert")
        try await harness.ceremony(csrBundle: first.bundlePath, out: firstCert)
        let installed = try ApplianceSetup.install(stateDirectory: harness.state, from: firstCert, rootFingerprint: try harness.rootFingerprint)

        let renewal = try await ApplianceSetup.intermediateCSR(
            stateDirectory: harness.state, configuration: SetupHarness.request, keyBackend: .file(passphrase: harness.passphrase),
            out: harness.directory.file("renewal-csr"))
        #expect(renewal.spkiSHA256 != first.spkiSHA256)
        // The current key still loads and still belongs to the installed intermediate.
        let current = try IntermediateKeyLoader.loadFileKey(at: harness.state.intermediateKey, passphrase: harness.passphrase)
        #expect(current.publicKey == installed.intermediate.publicKey)

        let secondCert = harness.directory.file("second-cert")
        try await harness.ceremony(csrBundle: renewal.bundlePath, out: secondCert)
        let second = try ApplianceSetup.install(stateDirectory: harness.state, from: secondCert, rootFingerprint: try harness.rootFingerprint)
        #expect(second.activatedPendingKey)
        let newKey = try IntermediateKeyLoader.loadFileKey(at: harness.state.intermediateKey, passphrase: harness.passphrase)
        #expect(newKey.publicKey == second.intermediate.publicKey)
        let store = try SQLiteStore(path: harness.directory.file("ca.sqlite"))
        let ca = try IntermediateCA.load(
            state: harness.state, privateKey: newKey, store: store, settings: CASettings(organization: "Rootkeeper Test"),
            events: .unobserved, crlPublication: NoCRLPublication())
        #expect(try await ca.caCertificates() == [second.intermediate, installed.intermediate, harness.pki.root])
    }

    @Test("a passphrase file readable by others is refused; one with mode 0600 is read without its newline")
    func passphraseFile() throws {
        let directory = try TemporaryDirectory("rootkeeper-secret")
        defer { directory.remove() }
        let path = directory.file("passphrase")
        try SecureFile.writeExclusive(Array("s3cret-pass\n".utf8), to: path, mode: 0o600)
        let secret = try SecretSource.file(path).read(prompt: "")
        #expect(secret.isEqual(to: SecretBytes(utf8: "s3cret-pass")))
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        #expect { _ = try SecretSource.file(path).read(prompt: "") } throws: { error in
            (error as? SecureFileError)?.code == .insecurePermissions && "\(error)".contains("0640") && !"\(error)".contains("s3cret")
        }
        #expect { _ = try SecretSource(parsing: "hunter2") } throws: { error in
            (error as? SecureFileError)?.code == .invalidSecretSource && !"\(error)".contains("hunter2")
        }
    }
}
