import ApplianceKit
import CAStore
import Foundation
import PKICore
import Registration
import TestSupport
import Testing

/// `appliance backup` (issue 6, docs/commands.md#appliance-backup): an encrypted, authenticated archive of the state that
/// restores into a working state directory, and that is refused — with nothing written — when it
/// is altered, truncated, opened with the wrong passphrase or carries absurd KDF parameters.
@Suite("Encrypted backups: create, verify, restore")
struct BackupTests {
    @Test("a backup restores every file, the database's certificates and safe permissions, and holds no plaintext")
    func roundTrip() async throws {
        let fixture = try await BackupFixture.make()
        defer { fixture.remove() }
        let (archive, created) = try fixture.backup()
        #expect(try StateDirectoryMode.of(archive) == 0o600)
        #expect(created.certificateCount >= 2)
        #expect(created.intermediateCRLNumber == CRLNumber(BackupFixture.crlNumber))
        #expect(created.includesIntermediateKey)

        // Encrypted: no certificate, key or SQLite header is readable in the file.
        let raw = try Data(contentsOf: URL(fileURLWithPath: archive))
        for plaintext in ["BEGIN CERTIFICATE", "ENCRYPTED PRIVATE KEY", "SQLite format 3", "web-01", "padding"] {
            #expect(raw.range(of: Data(plaintext.utf8)) == nil, "\(plaintext) appears in the archive")
        }

        let verified = try BackupReader().read(file: archive, passphrase: fixture.passphrase)
        #expect(verified.summary == created)
        #expect(!verified.files.keys.contains("server/private/server.key"), "the server key is reissued at start, never backed up")

        let target = fixture.work.file("restored")
        let restored = try BackupRestorer().restore(file: archive, passphrase: fixture.passphrase, stateDirectory: target)
        #expect(restored == created)
        for relative in [
            "ca/root-ca.crt", "ca/intermediate-ca.crt", "ca/ca-chain.crt", "ca/private/intermediate-ca.key",
            "crl/intermediate.crl", "server/server.crt", "server/server-chain.crt", "audit/audit.jsonl",
        ] {
            #expect(fixture.bytes(relative, in: target) == fixture.bytes(relative), "\(relative) differs after restore")
        }
        #expect(fixture.bytes("server/private/server.key", in: target) == nil)
        #expect(try StateDirectoryMode.of("\(target)/ca/private") == 0o700)
        #expect(try StateDirectoryMode.of("\(target)/ca/private/intermediate-ca.key") == 0o600)
        #expect(try StateDirectoryMode.of("\(target)/db/rootkeeper.sqlite") == 0o600)
        #expect(try StateDirectoryMode.of("\(target)/server/private") == 0o700)
        try StateDirectory(path: target).checkPermissions()

        // A restored state that has not been served yet can itself be backed up again.
        let second = try BackupWriter(kdf: .minimum).create(
            state: StateDirectory(path: target), configurationFile: nil, passphrase: fixture.passphrase,
            destination: fixture.work.file("second.rkbackup"))
        #expect(second.certificateCount == created.certificateCount)
        #expect(second.intermediateCRLNumber == created.intermediateCRLNumber)

        // The restored database is a working store that knows every issued certificate.
        let store = try SQLiteStore(path: "\(target)/db/rootkeeper.sqlite")
        for serial in fixture.serials {
            let record = try await store.certificate(serial: serial)
            #expect(record?.status == .issued, "certificate \(serial) is missing after restore")
        }
    }

    @Test("a backup taken while another connection keeps committing holds exactly the commits made before it (a consistent prefix)")
    func onlineSnapshot() async throws {
        let fixture = try await BackupFixture.make()
        defer { fixture.remove() }
        let store = try SQLiteStore(path: fixture.state.path("db", "rootkeeper.sqlite"))
        let counter = WriteCounter()
        let now = Date()
        // Sequentially numbered tokens, one commit each, as fast as the writer can go.
        let writer = Task {
            var index = 0
            while !counter.stopped {
                try await store.insertToken(
                    EnrollmentToken(
                        tokenSHA256: String(format: "%064d", index), hostname: "load-\(index)", created: now, expires: now + 3600, createdBy: "test"))
                index += 1
                counter.set(index)
            }
            return index
        }
        while counter.value < 20 { try await Task.sleep(for: .milliseconds(5)) }
        let before = counter.value
        let (archive, _) = try await Task.detached { try fixture.backup() }.value
        let after = counter.value
        while counter.value < after + 20 { try await Task.sleep(for: .milliseconds(5)) }
        counter.stop()
        let total = try await writer.value

        let target = fixture.work.file("restored")
        _ = try BackupRestorer().restore(file: archive, passphrase: fixture.passphrase, stateDirectory: target)
        let restored = try SQLiteStore(path: "\(target)/db/rootkeeper.sqlite")
        var present: [Bool] = []
        for index in 0..<total { present.append(try await restored.token(sha256: String(format: "%064d", index)) != nil) }
        let kept = present.prefix { $0 }.count
        #expect(kept >= before, "commits made before the backup started are missing (\(kept) < \(before))")
        // +1: the counter is set just after each commit returns.
        #expect(kept <= after + 1, "the backup holds commits made after it finished")
        #expect(!present[kept...].contains(true), "the snapshot is not a prefix of the commits: a gap after \(kept)")
    }

    @Test("a wrong passphrase is refused with a clear message and nothing is written")
    func wrongPassphrase() async throws {
        let fixture = try await BackupFixture.make()
        defer { fixture.remove() }
        let (archive, _) = try fixture.backup()
        let wrong = SecretBytes(utf8: "correct horse battery stapler")
        let error = try #require(throws: ApplianceError.self) { try BackupReader().read(file: archive, passphrase: wrong) }
        #expect(error.reason.contains("passphrase is wrong"), "\(error)")
        #expect(!error.reason.contains("stapler"))
        let target = fixture.work.file("restored")
        let refused = #expect(throws: ApplianceError.self) {
            try BackupRestorer().restore(file: archive, passphrase: wrong, stateDirectory: target)
        }
        #expect(
            refused?.code == error.code && refused?.reason == error.reason,
            "the restore must refuse for the reader's reason: \(String(describing: refused))")
        #expect(!FileManager.default.fileExists(atPath: target), "a refused restore created \(target)")
    }

    /// Where the archive is damaged: (description, how).
    enum Damage: String, CaseIterable, CustomTestStringConvertible {
        case magic, kdfCost, salt, noncePrefix, reservedByte, firstChunk, middleChunk, lastTag
        case truncatedByOne, truncatedAtChunkBoundary, truncatedToHeader, truncatedInHeader, appended, chunkSwapped
        var testDescription: String { rawValue }

        /// What the refusal must say, so a damage refused for another reason (say, a read error)
        /// fails the test: the header is checked first, then the key, then each chunk's tag.
        var expectedReason: String {
            switch self {
            case .magic: "not a Rootkeeper backup (bad magic)"
            case .reservedByte: "reserved header bytes are not zero"
            // The header is the AEAD's associated data; the salt and cost derive the key.
            case .kdfCost, .salt, .noncePrefix, .firstChunk: "the archive does not decrypt"
            case .middleChunk, .lastTag, .truncatedByOne, .truncatedAtChunkBoundary, .appended, .chunkSwapped:
                "failed authentication: the file was altered, truncated or damaged"
            case .truncatedToHeader: "the file ends after the header; it is truncated"
            case .truncatedInHeader: "shorter than a backup header (64)"
            }
        }
    }

    @Test("any single bit flip, truncation, extension or reordering is refused and nothing is restored", arguments: Damage.allCases)
    func damaged(_ damage: Damage) async throws {
        // Padding spreads the payload over several 4 KiB chunks.
        let fixture = try await BackupFixture.make(auditPadding: 20_000)
        defer { fixture.remove() }
        let (archive, _) = try fixture.backup(chunkSize: 4096)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: archive)))
        let record = 4096 + 16
        let chunks = (bytes.count - 64 + record - 1) / record
        try #require(chunks >= 4, "the fixture should span several chunks (has \(chunks))")
        switch damage {
        case .magic: bytes[0] ^= 0x01
        case .kdfCost: bytes[11] ^= 0x01  // log2 N 14 → 15: still in bounds, but a different key
        case .salt: bytes[30] ^= 0x80
        case .noncePrefix: bytes[55] ^= 0x04
        case .reservedByte: bytes[60] ^= 0x01
        case .firstChunk: bytes[64 + 10] ^= 0x01
        case .middleChunk: bytes[64 + 2 * record + 100] ^= 0x20
        case .lastTag: bytes[bytes.count - 1] ^= 0x01
        case .truncatedByOne: bytes.removeLast()
        case .truncatedAtChunkBoundary: bytes = Array(bytes.prefix(64 + 2 * record))
        case .truncatedToHeader: bytes = Array(bytes.prefix(64))
        case .truncatedInHeader: bytes = Array(bytes.prefix(40))
        case .appended: bytes += [0x00] + Array(bytes[64..<(64 + record)])
        case .chunkSwapped:
            let first = Array(bytes[(64 + record)..<(64 + 2 * record)])
            bytes.replaceSubrange((64 + record)..<(64 + 2 * record), with: bytes[(64 + 2 * record)..<(64 + 3 * record)])
            bytes.replaceSubrange((64 + 2 * record)..<(64 + 3 * record), with: first)
        }
        let damaged = fixture.work.file("damaged.rkbackup")
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        let error = try #require(throws: ApplianceError.self) { try BackupReader().read(file: damaged, passphrase: fixture.passphrase) }
        #expect(
            error.code == .malformedRequest && error.reason.hasPrefix("backup rejected: ") && error.reason.contains(damage.expectedReason),
            "\(damage): \(error)")
        let target = fixture.work.file("restored")
        let refused = #expect(throws: ApplianceError.self) {
            try BackupRestorer().restore(file: damaged, passphrase: fixture.passphrase, stateDirectory: target)
        }
        #expect(
            refused?.code == error.code && refused?.reason == error.reason,
            "the restore must refuse for the reader's reason: \(String(describing: refused))")
        #expect(!FileManager.default.fileExists(atPath: target), "a refused restore created \(target)")
    }

    @Test("restoring into a directory that is not empty is refused and the directory is left alone")
    func nonEmptyTarget() async throws {
        let fixture = try await BackupFixture.make()
        defer { fixture.remove() }
        let (archive, _) = try fixture.backup()
        let target = fixture.work.file("occupied")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        FileManager.default.createFile(atPath: "\(target)/notes.txt", contents: Data("keep me".utf8))
        let error = try #require(throws: ApplianceError.self) {
            try BackupRestorer().restore(file: archive, passphrase: fixture.passphrase, stateDirectory: target)
        }
        #expect(error.reason.contains("not empty"), "\(error)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target) == ["notes.txt"])

        // An empty existing directory is fine.
        let empty = fixture.work.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        _ = try BackupRestorer().restore(file: archive, passphrase: fixture.passphrase, stateDirectory: empty)
        #expect(FileManager.default.fileExists(atPath: "\(empty)/db/rootkeeper.sqlite"))
    }

    @Test(
        "a crafted header with absurd scrypt parameters or chunk size is refused before any key is derived",
        arguments: [(40, 8, 1), (20, 16, 1), (14, 255, 1), (14, 8, 200), (0, 8, 1), (14, 0, 1)])
    func absurdKDF(logN: Int, r: Int, p: Int) async throws {
        let fixture = try await BackupFixture.make()
        defer { fixture.remove() }
        let (archive, _) = try fixture.backup()
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: archive)))
        bytes[11] = UInt8(logN)
        bytes[12] = UInt8(r)
        bytes[13] = UInt8(p)
        let crafted = fixture.work.file("crafted.rkbackup")
        try Data(bytes).write(to: URL(fileURLWithPath: crafted))
        let error = try #require(throws: ApplianceError.self) { try BackupReader().read(file: crafted, passphrase: fixture.passphrase) }
        #expect(error.reason.contains("refusing the archive's KDF parameters"), "\(error)")

        var chunk = bytes
        chunk[11] = 14
        chunk[12] = 8
        chunk[13] = 1
        chunk.replaceSubrange(16..<20, with: [0xFF, 0xFF, 0xFF, 0xFF])
        try Data(chunk).write(to: URL(fileURLWithPath: crafted))
        let chunkError = try #require(throws: ApplianceError.self) { try BackupReader().read(file: crafted, passphrase: fixture.passphrase) }
        #expect(chunkError.reason.contains("chunk size"), "\(chunkError)")
    }

    @Test("a backup is never written over an existing file, nor with a short passphrase")
    func noOverwrite() async throws {
        let fixture = try await BackupFixture.make()
        defer { fixture.remove() }
        let existing = fixture.work.file("state.rkbackup")
        FileManager.default.createFile(atPath: existing, contents: Data("precious".utf8))
        let overwrite = #expect(throws: ApplianceError.self) { _ = try fixture.backup() }
        #expect(
            overwrite?.code == .unavailable && overwrite?.reason.hasSuffix("state.rkbackup already exists; refusing to overwrite a backup") == true,
            "\(String(describing: overwrite))")
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "precious")

        // A short passphrase is refused before anything is written.
        let short = fixture.work.file("short.rkbackup")
        let error = try #require(throws: ApplianceError.self) {
            try BackupWriter(kdf: .minimum).create(
                state: fixture.state, configurationFile: nil, passphrase: SecretBytes(utf8: "short"), destination: short)
        }
        #expect(error.reason.contains("at least 12 characters"), "\(error)")
        #expect(!FileManager.default.fileExists(atPath: short))
    }
}

/// A counter shared between the writer task and the test.
final class WriteCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0, halted = false
    var value: Int { lock.withLock { count } }
    var stopped: Bool { lock.withLock { halted } }
    func set(_ value: Int) { lock.withLock { count = value } }
    func stop() { lock.withLock { halted = true } }
}

/// Mode bits of a path (lstat).
enum StateDirectoryMode {
    static func of(_ path: String) throws -> Int {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw TestFailure("cannot stat \(path)") }
        return Int(info.st_mode) & 0o7777
    }
}
