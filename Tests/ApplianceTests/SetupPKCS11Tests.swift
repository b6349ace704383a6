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
            let ca = try IntermediateCA.load(state: harness.state, privateKey: key, store: store, settings: CASettings(organization: "Rootkeeper Test"))
            let agentToken = try await ca.createToken(hostname: "hsm-agent", caller: CAHarness.admin)
            let outcome = try await ca.enroll(ESTRequest(csrDER: try CAHarness.agentCSR(hostname: "hsm-agent").der, token: agentToken, source: "t"))
            guard case .issued(let certificate, _) = outcome else {
                Issue.record("expected a certificate signed on the token, got \(outcome)")
                return
            }
            #expect(installed.intermediate.publicKey.isValidSignature(certificate.signature, for: certificate))
        }
    }
}
