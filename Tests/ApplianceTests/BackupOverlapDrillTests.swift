import Crypto
import Foundation
import PKICore
import TestSupport
import Testing

@testable import ApplianceKit

/// Issue #12 part 4: a backup taken during an intermediate renewal overlap holds everything
/// `serve` needs — the retiring issuer's certificate and key included — so after a restore the
/// old issuer's agents keep mTLS and each issuer's CRL and OCSP keep answering. An archive
/// lacking an issuer the database names (as `backup create` wrote before) is refused.
@Suite("Backup restore drill during an intermediate overlap (real binaries, curl, openssl)", .serialized)
struct BackupOverlapDrillTests {
    static let backupPassphrase = "overlap drill backup passphrase"

    /// A state in overlap: agents enrolled under the old intermediate (one revoked), then a
    /// renewal, then an agent under the new one. Returns the issuers' PEM paths and IDs.
    static func overlapState(_ h: RenewalHarness) async throws
        -> (oldGood: AgentFiles, oldRevoked: AgentFiles, newGood: AgentFiles, oldPEM: String, newPEM: String, oldID: String, newID: String)
    {
        let first = try await h.start()
        let oldGood: AgentFiles
        let oldRevoked: AgentFiles
        do {
            oldGood = try await first.enroll("old-good")
            oldRevoked = try await first.enroll("old-revoked")
            _ = try await first.runtime.ca.revokeCertificate(
                serial: IntermediateCA.serialHex(oldRevoked.certificate), reason: "keyCompromise", caller: RenewalHarness.admin)
            try await first.runtime.crlPublisher.publishNow()
        } catch {
            await first.stop()
            throw error
        }
        await first.stop()
        let old = try IntermediateKeyLoader.loadCertificates(h.state).intermediate
        _ = try await h.renew("renewal")
        let new = try IntermediateKeyLoader.loadCertificates(h.state).intermediate
        let second = try await h.start()
        let newGood: AgentFiles
        do {
            newGood = try await second.enroll("new-good")
            for publisher in second.runtime.crlPublishers.all { await publisher.waitUntilIdle() }
        } catch {
            await second.stop()
            throw error
        }
        await second.stop()
        return (
            oldGood, oldRevoked, newGood, try h.write(old, "old-intermediate.pem"), try h.write(new, "new-intermediate.pem"),
            try IssuerRoster.ski(old), try IssuerRoster.ski(new)
        )
    }

    static func passphraseFile(_ h: RenewalHarness) -> String {
        let path = h.directory.file("backup.passphrase")
        FileManager.default.createFile(atPath: path, contents: Data("\(backupPassphrase)\n".utf8), attributes: [.posixPermissions: 0o600])
        return path
    }

    @Test(
        "restored during an overlap: old-issuer agents keep mTLS (curl), each issuer's CRL and OCSP answer (openssl ocsp, verify -crl_check), one CRL series per issuer"
    )
    func drillDuringOverlap() async throws {
        let h = try await RenewalHarness.make()
        defer {
            ProcessReaper.terminate(commandLineContaining: h.directory.path)
            h.remove()
        }
        let s = try await Self.overlapState(h)
        let root = h.directory.file("root.pem")
        let appliance = ProductBinary.path("appliance")
        let archive = h.directory.file("overlap.rkbackup")
        let passphrase = Self.passphraseFile(h)
        let created = try await ExternalTool(appliance).runAsync([
            "backup", "create", "--state-dir", h.state.root.path, "--out", archive, "--passphrase-file", passphrase,
        ])
        try #require(created.succeeded, "\(created.output)")
        #expect(created.stdout.contains("ca/issuers/\(s.oldID)/intermediate-ca.crt"), "\(created.stdout)")
        #expect(created.stdout.contains("ca/issuers/\(s.oldID)/private/intermediate-ca.key"), "\(created.stdout)")

        // The original goes away: the restore stands alone.
        let restored = h.directory.file("restored")
        try FileManager.default.moveItem(atPath: h.state.root.path, toPath: h.directory.file("original-state"))
        let restore = try await ExternalTool(appliance).runAsync([
            "backup", "restore", "--file", archive, "--state-dir", restored, "--passphrase-file", passphrase,
            "--owner", geteuid() == 0 ? "nobody" : NSUserName(),
        ])
        try #require(restore.succeeded, "\(restore.output)")
        let keyDirectory = "\(restored)/ca/issuers/\(s.oldID)/private"
        #expect(try StateDirectory.mode(of: keyDirectory) == 0o700)
        #expect(try StateDirectory.mode(of: keyDirectory + "/intermediate-ca.key") == 0o600)

        let serve = try ApplianceProcess(
            state: restored, work: h.directory, passphrase: "correct horse battery staple",
            extraConfiguration: "  renew_before_days: 90\n")
        defer { serve.stop() }

        // mTLS with curl: the old issuer's good agent passes, its revoked one does not.
        // "000": the revoked certificate is refused in the TLS handshake, before any HTTP status.
        for (agent, expected) in [(s.oldGood, "200"), (s.newGood, "200"), (s.oldRevoked, "000")] {
            let status = try await ExternalTool("curl").runAsync([
                "-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", root,
                "--cert", agent.cert, "--key", agent.key, "\(serve.httpsURL)/api/v1/agent/status",
            ])
            #expect(
                status.stdout == expected && (expected == "200" || status.stderr.contains("alert certificate unknown")),
                "\(agent.hostname): \(status.output)\n\(serve.process.output)")
        }

        // Each issuer's CRL at its own URL, signed by it; openssl verify -crl_check agrees with it.
        for (id, issuerPEM, good, revoked) in [(s.oldID, s.oldPEM, s.oldGood, Optional(s.oldRevoked)), (s.newID, s.newPEM, s.newGood, nil)] {
            let der = h.directory.file("\(id).crl")
            let pem = h.directory.file("\(id).crl.pem")
            let fetched = try await ExternalTool("curl").runAsync([
                "-sS", "-f", "--max-time", "20", "-o", der, "\(serve.httpURL)/crl/issuer/\(id).crl",
            ])
            try #require(fetched.succeeded, "CRL of \(id): \(fetched.output)")
            let crl = try await ExternalTool("openssl").runAsync(["crl", "-inform", "DER", "-in", der, "-CAfile", issuerPEM, "-noout", "-crlnumber"])
            #expect(crl.output.contains("verify OK"), "\(crl.output)")
            _ = try await ExternalTool("openssl").runAsync(["crl", "-inform", "DER", "-in", der, "-out", pem])
            let accepted = try await ExternalTool("openssl").runAsync([
                "verify", "-crl_check", "-CAfile", root, "-untrusted", issuerPEM, "-CRLfile", pem, good.cert,
            ])
            #expect(accepted.succeeded, "\(accepted.output)")
            var answers = [(good.cert, "good")]
            if let revoked {
                let refused = try await ExternalTool("openssl").runAsync([
                    "verify", "-crl_check", "-CAfile", root, "-untrusted", issuerPEM, "-CRLfile", pem, revoked.cert,
                ])
                #expect(!refused.succeeded && refused.output.contains("certificate revoked"), "\(refused.output)")
                answers.append((revoked.cert, "revoked"))
            }
            for (certificate, expected) in answers {
                let ocsp = try await ExternalTool("openssl").runAsync([
                    "ocsp", "-issuer", issuerPEM, "-cert", certificate, "-url", "\(serve.httpURL)/ocsp", "-CAfile", root, "-verify_other", issuerPEM,
                ])
                #expect(ocsp.output.contains("Response verify OK") && ocsp.output.contains("\(certificate): \(expected)"), "\(ocsp.output)")
            }
        }

        // Part 8: each issuer has its own nextUpdate series; none is shared under a role name.
        let metrics = try await serve.metrics()
        for id in [s.oldID, s.newID] {
            #expect(metrics.contains("rootkeeper_crl_next_update_seconds{issuer=\"\(id)\"}"), "\(metrics)")
        }
        #expect(!metrics.contains("issuer=\"intermediate\""), "\(metrics)")
    }

    @Test(
        "an archive lacking a retiring issuer the database names is refused by verify and restore (nothing written), and backup create refuses such a state"
    )
    func archiveLackingIssuerRefused() async throws {
        let h = try await RenewalHarness.make()
        defer { h.remove() }
        let s = try await Self.overlapState(h)
        let appliance = ProductBinary.path("appliance")
        let passphrase = Self.passphraseFile(h)

        // What `backup create` wrote before this fix: everything but ca/issuers/.
        let scratch = try BackupScratch()
        defer { scratch.remove() }
        let collected = try BackupSource(state: h.state, configurationFile: nil).collect(scratch: scratch.path)
        let kept = collected.entries.filter { !$0.path.hasPrefix("ca/issuers/") }
        #expect(kept.count < collected.entries.count, "the collected state holds the retiring issuer")
        let manifest = BackupManifest(
            format: 1, createdAt: Date(timeIntervalSince1970: 1_800_000_000), sourceStateDirectory: h.state.root.path, intermediateKey: "file",
            files: kept.map { .init(path: $0.path, size: $0.contents.count, sha256: Hex.encode(SHA256.hash(data: $0.contents))) })
        let old = h.directory.file("without-issuer.rkbackup")
        try BackupWriter(kdf: .minimum).write(
            payload: try BackupManifest.payload(manifest: manifest, contents: kept.map(\.contents)),
            key: .passphrase(SecretBytes(utf8: Self.backupPassphrase)), to: old)

        let verify = try await ExternalTool(appliance).runAsync(["backup", "verify", "--file", old, "--passphrase-file", passphrase])
        #expect(!verify.succeeded)
        #expect(
            verify.stderr.contains("names issuer(s) \(s.oldID)") && verify.stderr.contains("ca/issuers/\(s.oldID)/intermediate-ca.crt"),
            "\(verify.output)")
        let target = h.directory.file("restored")
        let restore = try await ExternalTool(appliance).runAsync([
            "backup", "restore", "--file", old, "--state-dir", target, "--passphrase-file", passphrase,
        ])
        #expect(!restore.succeeded)
        #expect(restore.stderr.contains("names issuer(s) \(s.oldID)"), "\(restore.output)")
        let left = FileManager.default.fileExists(atPath: target) ? try FileManager.default.contentsOfDirectory(atPath: target) : []
        #expect(left.isEmpty, "restore wrote \(left)")

        // A state whose retiring issuer directory went missing cannot be backed up either.
        try FileManager.default.moveItem(atPath: h.state.issuerDirectory(s.oldID), toPath: h.directory.file("moved-issuer"))
        let create = try await ExternalTool(appliance).runAsync([
            "backup", "create", "--state-dir", h.state.root.path, "--out", h.directory.file("b2"),
            "--passphrase-file", passphrase,
        ])
        #expect(!create.succeeded && create.stderr.contains("names issuer(s) \(s.oldID)"), "\(create.output)")
        #expect(!FileManager.default.fileExists(atPath: h.directory.file("b2")))
    }
}
