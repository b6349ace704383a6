import ApplianceKit
import CAStore
import Foundation
import PKICore
import TestSupport
import Testing
import X509

@Suite("appliance init with the intermediate key on a PKCS#11 token (SoftHSM)")
struct SetupPKCS11Tests {
    @Test("init generates the key on the token, install pins it, and the loaded token key issues agent certificates")
    func tokenBackedIntermediate() async throws {
        let harness = try await SetupHarness.make()
        defer { harness.remove() }
        try await SoftHSMToken.withExclusiveToken(label: "appliance-ca") { token in
            let location = PKCS11KeyLocation(modulePath: SoftHSMToken.modulePath, token: token.label)
            let result = try await ApplianceSetup.initialize(
                stateDirectory: harness.state, configuration: SetupHarness.request,
                keyBackend: .pkcs11(location, pin: SecretBytes(utf8: token.userPIN)), media: harness.media)
            let label = try #require(result.keyLabel)
            #expect(label.hasPrefix("rootkeeper-intermediate-"))
            #expect(!FileManager.default.fileExists(atPath: harness.state.intermediateKey), "a token key must not be written to disk")
            let verify = try ExternalTool("openssl").run(["req", "-verify", "-noout", "-in", "\(result.bundlePath)/intermediate.csr"])
            #expect(verify.succeeded, "openssl req: \(verify.output)")
            let objects = try ExternalTool("pkcs11-tool").run(
                ["--module", SoftHSMToken.modulePath, "--token-label", token.label, "--list-objects"], environment: token.environment)
            #expect(objects.output.contains(label), "pkcs11-tool: \(objects.output)")

            let bundle = harness.directory.file("cert")
            try await harness.ceremony(csrBundle: result.bundlePath, out: bundle)
            let installed = try ApplianceSetup.install(stateDirectory: harness.state, from: bundle, rootFingerprint: try harness.rootFingerprint)

            let key = try IntermediateKeyLoader.loadPKCS11Key(location, pin: SecretBytes(utf8: token.userPIN), certificate: installed.intermediate)
            #expect(key.publicKey == installed.intermediate.publicKey)
            let store = try SQLiteStore(path: harness.directory.file("ca.sqlite"))
            let ca = try IntermediateCA.load(
                state: harness.state, privateKey: key, store: store, settings: CASettings(organization: "Rootkeeper Test"),
                events: .unobserved, crlPublication: NoCRLPublication())
            let agentToken = try await ca.createToken(hostname: "hsm-agent", caller: CAHarness.admin)
            let outcome = try await ca.enroll(csrDER: try CAHarness.agentCSR(hostname: "hsm-agent").der, token: agentToken, source: "t")
            guard case .issued(let certificate, _) = outcome else {
                Issue.record("expected a certificate signed on the token, got \(outcome)")
                return
            }
            #expect(installed.intermediate.publicKey.isValidSignature(certificate.signature, for: certificate))
        }
    }
}

@Suite("Intermediate renewal with the keys on a PKCS#11 token (SoftHSM)")
struct RenewalPKCS11Tests {
    @Test("a renewal key is generated on the same token, and serve finds both the current and the retiring key there by SPKI")
    func tokenBackedRenewal() async throws {
        let harness = try await SetupHarness.make()
        defer { harness.remove() }
        try await SoftHSMToken.withExclusiveToken(label: "appliance-renew") { token in
            let location = PKCS11KeyLocation(modulePath: SoftHSMToken.modulePath, token: token.label)
            let backend = IntermediateKeyBackend.pkcs11(location, pin: SecretBytes(utf8: token.userPIN))
            let first = try await ApplianceSetup.initialize(
                stateDirectory: harness.state, configuration: SetupHarness.request, keyBackend: backend, media: harness.media)
            try await harness.ceremony(csrBundle: first.bundlePath, out: harness.directory.file("cert-1"))
            let old = try ApplianceSetup.install(
                stateDirectory: harness.state, from: harness.directory.file("cert-1"), rootFingerprint: try harness.rootFingerprint)

            let renewal = try await ApplianceSetup.intermediateCSR(
                stateDirectory: harness.state, configuration: SetupHarness.request, keyBackend: backend, out: harness.directory.file("csr-2"))
            #expect(renewal.spkiSHA256 != first.spkiSHA256)
            try await harness.ceremony(csrBundle: renewal.bundlePath, out: harness.directory.file("cert-2"))
            let new = try ApplianceSetup.install(
                stateDirectory: harness.state, from: harness.directory.file("cert-2"), rootFingerprint: try harness.rootFingerprint)
            #expect(new.retiring == [old.intermediate])
            let id = try IssuerRoster.ski(old.intermediate)
            #expect(FileManager.default.fileExists(atPath: harness.state.issuerCertificate(id)))
            #expect(!FileManager.default.fileExists(atPath: harness.state.issuerKey(id)), "a token key must not be written to disk")

            let keys = try IntermediateKeyLoader.loadIssuerKeys(
                harness.state, current: new.intermediate, retiring: new.retiring, secret: SecretBytes(utf8: token.userPIN), token: location)
            #expect(keys.current.publicKey == new.intermediate.publicKey)
            #expect(keys.retiring.map(\.publicKey) == [old.intermediate.publicKey])
        }
    }
}
