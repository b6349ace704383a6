import ApplianceKit
import CAStore
import Foundation
import PKICore
import Registration
import SecureFiles
import TestSupport
import Testing
import X509

@Suite("Intermediate renewal with overlap", .serialized)
struct IntermediateRenewalTests {
    @Test("an agent of the old intermediate keeps mTLS after the renewal and renews onto the new one; cacerts and the chain carry both")
    func overlapKeepsOldAgentsWorking() async throws {
        let h = try await RenewalHarness.make()
        defer { h.remove() }
        let root = h.directory.file("root.pem")
        let first = try await h.start()
        let agent: AgentFiles
        do {
            agent = try await first.enroll("web-01")
            // The renewal CSR and the install happen while the current intermediate keeps serving.
            let installed = try await h.renew("renewal")
            #expect(installed.activatedPendingKey)
            #expect(try await first.mtlsStatus(agent, root: root) == 200)
            await first.stop()
        } catch {
            await first.stop()
            throw error
        }
        let old = try #require(try IntermediateKeyLoader.loadCertificates(h.state).previous.first)
        let new = try IntermediateKeyLoader.loadCertificates(h.state).intermediate
        let oldPEM = try h.write(old, "old-intermediate.pem")
        let newPEM = try h.write(new, "new-intermediate.pem")

        let serving = try await h.start()
        do {
            // The old agent's certificate still authenticates.
            #expect(try await serving.mtlsStatus(agent, root: root) == 200)

            // cacerts (RFC 7030 §4.1) and /ca/chain.pem both carry the new and the old intermediate.
            let cacerts = try await Curl.shell(
                "curl -sS --max-time 20 --cacert '\(root)' \(serving.httpsURL)/.well-known/est/cacerts | openssl base64 -d | openssl pkcs7 -inform DER -print_certs"
            )
            #expect(cacerts.succeeded, "\(cacerts.output)")
            let served = try PEMCodec.certificates(fromPEM: cacerts.stdout)
            #expect(Set(served) == Set([new, old, h.setup.pki.root]))
            let chainFile = h.directory.file("chain.pem")
            #expect(try await serving.download("/ca/chain.pem", to: chainFile) == 200)
            #expect(Set(try PEMCodec.certificates(fromPEM: String(contentsOfFile: chainFile, encoding: .utf8))) == Set([new, old, h.setup.pki.root]))
            let chainOnDisk = try PEMCodec.certificates(fromPEM: String(contentsOfFile: h.state.caChain, encoding: .utf8))
            #expect(chainOnDisk == [new, old, h.setup.pki.root])

            // Renewal over mTLS with the old certificate: the new one chains to the new intermediate only.
            let renewed = try await serving.renewWithCurl(agent, root: root)
            #expect(renewed.status == 200)
            let verifyNew = try await ExternalTool("openssl").runAsync(["verify", "-CAfile", root, "-untrusted", newPEM, renewed.cert])
            #expect(verifyNew.succeeded, "\(verifyNew.output)")
            let verifyOld = try await ExternalTool("openssl").runAsync(["verify", "-CAfile", root, "-untrusted", oldPEM, renewed.cert])
            #expect(!verifyOld.succeeded && verifyOld.output.contains("unable to get local issuer certificate"), "\(verifyOld.output)")
            // Its CRL distribution point is the new issuer's own CRL.
            let newID = try IssuerRoster.ski(new)
            let cdp = try await ExternalTool("openssl").runAsync(["x509", "-in", renewed.cert, "-noout", "-ext", "crlDistributionPoints"])
            #expect(cdp.stdout.contains("http://ca.example.test/crl/issuer/\(newID).crl"), "\(cdp.output)")
            let renewedAgent = AgentFiles(
                hostname: agent.hostname, uuid: agent.uuid,
                certificate: try #require(try PEMCodec.certificates(fromPEM: String(contentsOfFile: renewed.cert, encoding: .utf8)).first),
                cert: renewed.cert, key: renewed.key)
            #expect(try await serving.mtlsStatus(renewedAgent, root: root) == 200)
        } catch {
            await serving.stop()
            throw error
        }
        await serving.stop()
    }

    @Test("install of a renewal is refused when the key is not ours or the root is not the pinned one, and leaves the state as it was")
    func refusedRenewals() async throws {
        let h = try await RenewalHarness.make()
        defer { h.remove() }
        let before = try SecureFile.read(h.state.intermediateCertificate)

        let foreign = h.setup.media + "/foreign-csr"
        _ = try await ApplianceSetup.intermediateCSR(
            stateDirectory: h.state, configuration: SetupHarness.request, keyBackend: .file(passphrase: h.setup.passphrase), out: foreign)
        let otherKey = try KeyAlgorithm.p256.generatePrivateKey()
        try await h.setup.ceremony(csrBundle: foreign, out: h.setup.media + "/foreign-cert", overrideKey: otherKey.publicKey)
        let otherKeyRefusal = #expect(throws: ApplianceError.self) {
            try ApplianceSetup.install(stateDirectory: h.state, from: h.setup.media + "/foreign-cert", rootFingerprint: try h.setup.rootFingerprint)
        }
        #expect(
            otherKeyRefusal?.code == .forbidden && otherKeyRefusal?.reason.hasPrefix("the certificate is for another key") == true,
            "\(String(describing: otherKeyRefusal))")

        let otherPKI = try await TestPKI.make()
        try await h.setup.ceremony(csrBundle: foreign, out: h.setup.media + "/other-root-cert", root: otherPKI.root, rootKey: otherPKI.rootKey)
        let unpinned = #expect(throws: ApplianceError.self) {
            try ApplianceSetup.install(
                stateDirectory: h.state, from: h.setup.media + "/other-root-cert", rootFingerprint: try h.setup.rootFingerprint)
        }
        // The refusal never shows the bundle's (foreign) root: a shown value is a copied value.
        let foreignRoot = try ApplianceSetup.fingerprint(otherPKI.root)
        #expect(
            unpinned?.code == .forbidden && unpinned?.reason.hasPrefix("the bundle's root certificate does not match the expected") == true
                && unpinned?.reason.contains(foreignRoot) == false,
            "\(String(describing: unpinned))")
        // Pinning the other root does not help: the pending key is still ours, the chain is not.
        let otherRoot = #expect(throws: ApplianceError.self) {
            try ApplianceSetup.install(
                stateDirectory: h.state, from: h.setup.media + "/other-root-cert", rootFingerprint: try ApplianceSetup.fingerprint(otherPKI.root))
        }
        #expect(
            otherRoot?.code == .forbidden && otherRoot?.reason.hasSuffix("a renewal cannot change the root") == true,
            "\(String(describing: otherRoot))")
        #expect(try SecureFile.read(h.state.intermediateCertificate) == before)
        #expect(!FileManager.default.fileExists(atPath: h.state.issuersDirectory))
    }

    @Test("a renewal key must use the current key's passphrase, and a retiring key is kept 0600 in a 0700 directory and checked at start")
    func renewalKeyFiles() async throws {
        let h = try await RenewalHarness.make()
        defer { h.remove() }
        let wrong = SecretBytes(utf8: "another passphrase entirely")
        let wrongPassphrase = await #expect(throws: ApplianceError.self) {
            _ = try await ApplianceSetup.intermediateCSR(
                stateDirectory: h.state, configuration: SetupHarness.request, keyBackend: .file(passphrase: wrong), out: h.setup.media + "/wrong")
        }
        #expect(
            wrongPassphrase?.code == .forbidden
                && wrongPassphrase?.reason.hasPrefix("the passphrase does not unlock the current intermediate key") == true,
            "\(String(describing: wrongPassphrase))")
        #expect(!FileManager.default.fileExists(atPath: h.setup.media + "/wrong"))
        #expect(!FileManager.default.fileExists(atPath: h.state.path("ca", "private", "intermediate-ca.pending.key")))

        let old = try IntermediateKeyLoader.loadCertificates(h.state).intermediate
        let installed = try await h.renew("renewal")
        #expect(installed.retiring == [old])
        let id = try IssuerRoster.ski(old)
        #expect(try mode(h.state.issuerPrivateDirectory(id)) == 0o700)
        #expect(try mode(h.state.issuerKey(id)) == 0o600)
        // The retiring key still decrypts with the one passphrase and is the old intermediate's.
        let keys = try IntermediateKeyLoader.loadIssuerKeys(
            h.state, current: installed.intermediate, retiring: [old], secret: h.setup.passphrase, token: nil)
        #expect(keys.retiring.first?.publicKey == old.publicKey)
        #expect(keys.current.publicKey == installed.intermediate.publicKey)

        chmod(h.state.issuerKey(id), 0o644)
        let exposed = #expect(throws: ApplianceError.self) { try h.state.checkPermissions() }
        #expect(
            exposed?.code == .unsafeStateDirectory && exposed?.reason.contains("/private/intermediate-ca.key has mode 0644") == true,
            "\(String(describing: exposed))")
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }
}
