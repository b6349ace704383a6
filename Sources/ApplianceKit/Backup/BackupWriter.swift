import Crypto
import Foundation
import PKICore

/// `appliance backup create`: snapshots the state (``BackupSource``), builds the manifest and
/// writes the encrypted archive (``BackupHeader``, ``BackupStream``) atomically.
///
/// Atomicity: the archive is written to a temporary file (O_EXCL, mode 0600) in the destination's
/// own directory, fsynced, read back and decrypted in full, then linked to the final name —
/// link(2) fails with EEXIST instead of replacing an existing file — and the directory fsynced. On any failure, including ENOSPC at
/// any write or at fsync, the temporary file is removed, so no file with the final name exists
/// unless it is complete.
public struct BackupWriter: Sendable {
    public var kdf: BackupKDFParameters
    public var chunkSize: Int
    public let random: any RandomSource
    public let clock: any PKIClock
    public static let minimumPassphraseLength = 12

    public init(
        kdf: BackupKDFParameters = .standard, chunkSize: Int = BackupHeader.defaultChunkSize,
        random: any RandomSource = SystemRandomSource(), clock: any PKIClock = SystemClock()
    ) {
        self.kdf = kdf
        self.chunkSize = chunkSize
        self.random = random
        self.clock = clock
    }

    /// Backs up `state` (and `configurationFile`, when given) to `destination`, which must not
    /// exist, sealed with a passphrase.
    /// - Returns: the summary of what was written.
    public func create(state: StateDirectory, configurationFile: String?, passphrase: SecretBytes, destination: String) throws -> BackupSummary {
        try create(state: state, configurationFile: configurationFile, key: .passphrase(passphrase), destination: destination)
    }

    /// As ``create(state:configurationFile:passphrase:destination:)`` with a passphrase or a
    /// recipient public key (``BackupKeyMaterial``).
    public func create(state: StateDirectory, configurationFile: String?, key: BackupKeyMaterial, destination: String) throws -> BackupSummary {
        // The archive may leave the building; its passphrase is all that protects the CA state.
        if case .passphrase(let passphrase) = key, passphrase.count < Self.minimumPassphraseLength {
            throw ApplianceError.unavailable("a backup passphrase must be at least \(Self.minimumPassphraseLength) characters")
        }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw ApplianceError.unavailable("\(destination) already exists; refusing to overwrite a backup")
        }
        let scratch = try BackupScratch()
        defer { scratch.remove() }
        let collected = try BackupSource(state: state, configurationFile: configurationFile).collect(scratch: scratch.path)
        let manifest = BackupManifest(
            format: 1, createdAt: Date(timeIntervalSince1970: clock.now().timeIntervalSince1970.rounded(.down)),  // the manifest keeps whole seconds
            sourceStateDirectory: state.root.path,
            intermediateKey: collected.fileBackedKey ? "file" : "pkcs11",
            files: collected.entries.map { .init(path: $0.path, size: $0.contents.count, sha256: Hex.encode(SHA256.hash(data: $0.contents))) })
        let payload = try BackupManifest.payload(manifest: manifest, contents: collected.entries.map(\.contents))
        let files = Dictionary(collected.entries.map { ($0.path, $0.contents) }, uniquingKeysWith: { first, _ in first })
        let summary = try BackupSummary.make(manifest: manifest, files: files, scratch: scratch.path)
        try write(payload: payload, key: key, to: destination)
        return summary
    }

    /// Encrypts `payload` and writes it atomically to `destination`.
    func write(payload: [UInt8], key material: BackupKeyMaterial, to destination: String) throws {
        let sealing = try material.seal(kdf: kdf, random: random)
        let header = try BackupHeader(kdf: sealing.kdf, chunkSize: chunkSize, salt: sealing.salt, noncePrefix: random.bytes(7))
        let stream = BackupStream(key: sealing.key, header: header)
        let directory = (destination as NSString).deletingLastPathComponent.isEmpty ? "." : (destination as NSString).deletingLastPathComponent
        let temporary = (directory as NSString).appendingPathComponent(
            ".\((destination as NSString).lastPathComponent).tmp-\(Hex.encode(random.bytes(6)))")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.ioError("create", temporary) }
        var closed = false
        do {
            guard fchmod(fd, 0o600) == 0 else { throw Self.ioError("chmod", temporary) }
            try Self.writeAll(fd, header.encoded[...], temporary)
            let chunkCount = max(1, (payload.count + chunkSize - 1) / chunkSize)
            for index in 0..<chunkCount {
                let start = index * chunkSize
                let chunk = payload[start..<min(start + chunkSize, payload.count)]
                try Self.writeAll(fd, try stream.seal(chunk, index: index, final: index == chunkCount - 1)[...], temporary)
            }
            guard fsync(fd) == 0 else { throw Self.ioError("fsync", temporary) }
            closed = true
            guard close(fd) == 0 else { throw Self.ioError("close", temporary) }
            try Self.readBack(temporary, expecting: payload, stream: stream)
            guard link(temporary, destination) == 0 else {
                if errno == EEXIST { throw ApplianceError.unavailable("\(destination) already exists; refusing to overwrite a backup") }
                throw Self.ioError("link", destination)
            }
            unlink(temporary)
            try Self.syncDirectory(directory)
        } catch {
            if !closed { close(fd) }
            unlink(temporary)
            throw error
        }
    }

    /// Reads the written file back and decrypts it with the same key before it gets its final
    /// name, so a backup that cannot be read back never claims to be one.
    static func readBack(_ path: String, expecting payload: [UInt8], stream: BackupStream) throws {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open", path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ioError("stat", path) }
        let decrypted = try BackupReader.decrypt(fd: fd, size: Int(info.st_size), file: path) { header in
            guard header == stream.header else { throw ApplianceError.unavailable("\(path) reads back with a different header") }
            return stream
        }
        guard decrypted == payload else { throw ApplianceError.unavailable("\(path) does not read back as written") }
    }

    static func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>, _ path: String) throws {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let count = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ioError("write", path)
            }
            offset += count
        }
    }

    static func syncDirectory(_ directory: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open", directory) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ioError("fsync", directory) }
    }

    static func ioError(_ operation: String, _ path: String) -> ApplianceError {
        ApplianceError.unavailable("cannot \(operation) \(path): \(String(cString: strerror(errno)))")
    }
}
