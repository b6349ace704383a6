import ApplianceKit
import Foundation
import TestSupport
import Testing

/// Backups sealed to a recipient's X25519 public key (`--recipient`), opened with its private key
/// (`--identity`); the key pair comes from openssl, not from our code.
@Suite("Backups for a recipient key (X25519, keys made by openssl)")
struct BackupRecipientTests {
    /// Makes an X25519 key pair with openssl: (private key PEM 0600, public key PEM).
    static func keyPair(_ fixture: BackupFixture, _ name: String) throws -> (identity: String, recipient: String) {
        let openssl = try ExternalTool("openssl")
        let identity = fixture.work.file("\(name).key")
        let recipient = fixture.work.file("\(name).pub")
        let generated = try openssl.run(["genpkey", "-algorithm", "X25519", "-out", identity])
        guard generated.succeeded else { throw TestFailure(generated.output) }
        chmod(identity, 0o600)
        let exported = try openssl.run(["pkey", "-in", identity, "-pubout", "-out", recipient])
        guard exported.succeeded else { throw TestFailure(exported.output) }
        return (identity, recipient)
    }

    @Test("a recipient backup opens only with the matching private key, and restores")
    func recipientRoundTrip() async throws {
        let fixture = try await BackupFixture.make()
        defer { fixture.remove() }
        let keys = try Self.keyPair(fixture, "backup")
        let other = try Self.keyPair(fixture, "other")
        let archive = fixture.work.file("recipient.rkbackup")
        let created = try BackupWriter().create(
            state: fixture.state, configurationFile: nil,
            key: try .recipient(pemFile: keys.recipient), destination: archive)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: archive)))
        #expect(bytes[10] == 2 && bytes[11..<14].allSatisfy { $0 == 0 }, "the header names X25519 and carries no scrypt cost")

        let opened = try BackupReader().read(file: archive, key: try .identity(pemFile: keys.identity))
        #expect(opened.summary == created)

        let wrongKey = try #require(throws: ApplianceError.self) {
            try BackupReader().read(file: archive, key: try .identity(pemFile: other.identity))
        }
        #expect(wrongKey.reason.contains("does not decrypt"), "\(wrongKey)")
        let passphrase = try #require(throws: ApplianceError.self) { try BackupReader().read(file: archive, passphrase: fixture.passphrase) }
        #expect(passphrase.reason.contains("encrypted to a recipient key"), "\(passphrase)")

        // The ephemeral public key is authenticated: changing it changes the key.
        var altered = bytes
        altered[40] ^= 0x01
        try Data(altered).write(to: URL(fileURLWithPath: fixture.work.file("altered.rkbackup")))
        let alteredKey = #expect(throws: ApplianceError.self) {
            try BackupReader().read(file: fixture.work.file("altered.rkbackup"), key: try .identity(pemFile: keys.identity))
        }
        #expect(
            alteredKey?.code == .malformedRequest && alteredKey?.reason.contains("the archive does not decrypt") == true,
            "\(String(describing: alteredKey))")

        let target = fixture.work.file("restored")
        _ = try BackupRestorer().restore(file: archive, key: try .identity(pemFile: keys.identity), stateDirectory: target)
        #expect(fixture.bytes("ca/private/intermediate-ca.key", in: target) == fixture.bytes("ca/private/intermediate-ca.key"))

        // A private key others can read is refused.
        chmod(keys.identity, 0o644)
        #expect(throws: (any Error).self) { try BackupKeyMaterial.identity(pemFile: keys.identity) }
    }

    @Test("the binary writes a recipient backup with no secret on the host and verifies it with --identity")
    func recipientBinary() async throws {
        let fixture = try await BackupFixture.make()
        defer { fixture.remove() }
        let keys = try Self.keyPair(fixture, "backup")
        let appliance = try ProductBinary.tool("appliance")
        let archive = fixture.work.file("cli.rkbackup")
        let created = try appliance.run(["backup", "create", "--state-dir", fixture.state.root.path, "--out", archive, "--recipient", keys.recipient])
        #expect(created.succeeded, "\(created.output)")
        let verified = try appliance.run(["backup", "verify", "--file", archive, "--identity", keys.identity])
        #expect(verified.succeeded && verified.stdout.contains("backup OK"), "\(verified.output)")
        let withPassphrase = try appliance.run(["backup", "verify", "--file", archive, "--passphrase-file", fixture.passphraseFile])
        #expect(!withPassphrase.succeeded && withPassphrase.stderr.contains("--identity"), "\(withPassphrase.output)")
    }
}
