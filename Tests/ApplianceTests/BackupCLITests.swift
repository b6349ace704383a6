import ApplianceKit
import Foundation
import TestSupport
import Testing

/// `appliance backup` through the real binary: what an operator types and sees, passphrase
/// handling, and a full disk while writing.
@Suite("appliance backup (binary)")
struct BackupCLITests {
    @Test("create, verify and restore through the binary print the contents and never the passphrase")
    func binaryRoundTrip() async throws {
        let fixture = try await BackupFixture.make()
        defer { fixture.remove() }
        let appliance = try ProductBinary.tool("appliance")
        let archive = fixture.work.file("cli.rkbackup")
        let created = try appliance.run([
            "backup", "create", "--state-dir", fixture.state.root.path, "--out", archive,
            "--passphrase-file", fixture.passphraseFile,
        ])
        #expect(created.succeeded, "\(created.output)")
        #expect(created.stdout.contains("backup written to \(archive)"))

        let verified = try appliance.run(["backup", "verify", "--file", archive, "--passphrase-file", fixture.passphraseFile])
        #expect(verified.succeeded, "\(verified.output)")
        #expect(verified.stdout.contains("backup OK"))
        #expect(verified.stdout.contains("certificates in database: 2"), "\(verified.stdout)")
        #expect(verified.stdout.contains("intermediate CRL number: \(BackupFixture.crlNumber)"), "\(verified.stdout)")
        #expect(verified.stdout.contains("ca/private/intermediate-ca.key"))

        // The passphrase through a file descriptor (here: stdin, fd 0) works too.
        let viaFD = try appliance.run(
            ["backup", "verify", "--file", archive, "--passphrase-fd", "0"], stdin: Data((BackupFixture.passphrase + "\n").utf8))
        #expect(viaFD.succeeded, "\(viaFD.output)")

        let wrong = try appliance.run(["backup", "verify", "--file", archive, "--passphrase-fd", "0"], stdin: Data("not the passphrase\n".utf8))
        #expect(!wrong.succeeded)
        #expect(wrong.stderr.contains("passphrase is wrong"), "\(wrong.output)")

        let target = fixture.work.file("restored")
        let restored = try appliance.run(["backup", "restore", "--file", archive, "--state-dir", target, "--passphrase-file", fixture.passphraseFile])
        #expect(restored.succeeded, "\(restored.output)")
        #expect(restored.stdout.contains("restored into \(target)"))
        #expect(FileManager.default.fileExists(atPath: "\(target)/db/rootkeeper.sqlite"))

        let again = try appliance.run(["backup", "restore", "--file", archive, "--state-dir", target, "--passphrase-file", fixture.passphraseFile])
        #expect(!again.succeeded && again.stderr.contains("not empty"), "\(again.output)")

        for result in [created, verified, viaFD, wrong, restored, again] {
            #expect(!result.output.contains(BackupFixture.passphrase), "the passphrase was printed")
        }

        // A passphrase file others can read is refused before anything happens.
        chmod(fixture.passphraseFile, 0o644)
        let loose = try appliance.run([
            "backup", "create", "--state-dir", fixture.state.root.path, "--out", fixture.work.file("loose.rkbackup"),
            "--passphrase-file", fixture.passphraseFile,
        ])
        #expect(!loose.succeeded && loose.stderr.contains("0600"), "\(loose.output)")
        #expect(!FileManager.default.fileExists(atPath: fixture.work.file("loose.rkbackup")))
    }

    @Test("a full disk fails a backup clearly with neither archive nor temporary file left, and a restore with nothing left behind")
    func diskFull() async throws {
        // The state is larger than the 96 KiB file system the backup is written to.
        let fixture = try await BackupFixture.make(auditPadding: 400_000)
        defer { fixture.remove() }
        let mountPoint = fixture.work.file("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        // A private mount namespace: the tiny tmpfs exists only for this script and vanishes with it.
        let script = """
            set -u
            mount -t tmpfs -o size=96k,mode=0700 rootkeeper-full "$1"
            "$2" backup create --state-dir "$3" --out "$1/state.rkbackup" --passphrase-file "$4"
            echo "exit=$?"
            echo "left:[$(ls -A "$1")]"
            umount "$1"
            # Restoring onto a full disk: fails, and removes everything it had written.
            "$2" backup create --state-dir "$3" --out "$5" --passphrase-file "$4" > /dev/null || exit 9
            mount -t tmpfs -o size=96k,mode=0755 rootkeeper-full "$1"
            "$2" backup restore --file "$5" --state-dir "$1/state" --passphrase-file "$4"
            echo "restore-exit=$?"
            echo "restore-left:[$(ls -A "$1")]"
            """
        let unshare = try ExternalTool("unshare")
        let result = try unshare.run([
            "-m", "--propagation", "private", "bash", "-c", script, "backup-full",
            mountPoint, ProductBinary.path("appliance"), fixture.state.root.path, fixture.passphraseFile,
            fixture.work.file("full-test.rkbackup"),
        ])
        #expect(result.succeeded, "\(result.output)")
        #expect(result.stdout.contains("exit=1"), "backup create should fail on a full disk: \(result.output)")
        #expect(result.stderr.contains("No space left on device"), "\(result.output)")
        #expect(result.stdout.contains("\nleft:[]"), "files left on the full file system: \(result.output)")
        #expect(result.stdout.contains("restore-exit=1"), "restore should fail on a full disk: \(result.output)")
        #expect(result.stdout.contains("restore-left:[]"), "a failed restore left files behind: \(result.output)")
    }
}
