import Foundation
import PKICore

/// Reads an archive completely: header (bounded), key, every chunk authenticated in order, the
/// manifest and every file's SHA-256 — all in memory, writing nothing but a short-lived copy of the
/// database in a private temporary directory to count its certificates. `backup verify` is this;
/// `backup restore` is this followed by ``BackupRestorer``.
public struct BackupReader: Sendable {
    /// A fully verified archive.
    public struct Contents: Sendable {
        public let manifest: BackupManifest
        /// File contents by relative path (as listed in the manifest).
        public let files: [String: [UInt8]]
        public let summary: BackupSummary
    }

    public init() {}

    /// Decrypts and verifies `file`. Throws ``ApplianceError`` with a reason naming what is wrong
    /// (truncated, altered chunk N, wrong passphrase, hash mismatch, KDF parameters out of bounds).
    public func read(file: String, passphrase: SecretBytes) throws -> Contents {
        try read(file: file, key: .passphrase(passphrase))
    }

    /// As ``read(file:passphrase:)`` with a passphrase or a recipient's private key.
    public func read(file: String, key material: BackupKeyMaterial) throws -> Contents {
        let fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw BackupWriter.ioError("open", file) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw BackupWriter.ioError("stat", file) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw ApplianceError.backupRejected("\(file) is not a regular file") }
        let payload = try Self.decrypt(fd: fd, size: Int(info.st_size), file: file) { try BackupStream(key: material.open($0), header: $0) }
        let (manifest, files) = try BackupManifest.parse(payload: payload)
        let scratch = try BackupScratch()
        defer { scratch.remove() }
        let summary = try BackupSummary.make(manifest: manifest, files: files, scratch: scratch.path)
        return Contents(manifest: manifest, files: files, summary: summary)
    }

    /// Parses the header of the open archive `fd`, gets the stream for it from `stream` (which
    /// derives the key) and authenticates and decrypts every chunk in order.
    static func decrypt(fd: Int32, size: Int, file: String, stream makeStream: (BackupHeader) throws -> BackupStream) throws -> [UInt8] {
        let header = try BackupHeader(parsing: try Self.read(fd, offset: 0, count: min(size, BackupHeader.size), file))
        let recordSize = header.chunkSize + BackupStream.tagSize
        let body = size - BackupHeader.size
        let chunkCount = max(1, (body + recordSize - 1) / recordSize)
        // Bound the work before deriving a key: a payload over the cap cannot be a valid archive.
        guard body >= BackupStream.tagSize else { throw ApplianceError.backupRejected("the file ends after the header; it is truncated") }
        guard body <= BackupManifest.maximumPayloadSize + chunkCount * BackupStream.tagSize else {
            throw ApplianceError.backupRejected("the file is larger than the format's \(BackupManifest.maximumPayloadSize >> 30) GiB cap")
        }
        let stream = try makeStream(header)
        var payload: [UInt8] = []
        payload.reserveCapacity(body - chunkCount * BackupStream.tagSize)
        for index in 0..<chunkCount {
            let offset = BackupHeader.size + index * recordSize
            let record = try Self.read(fd, offset: offset, count: min(recordSize, size - offset), file)
            payload += try stream.open(record[...], index: index, final: index == chunkCount - 1, chunkCount: chunkCount)
        }
        return payload
    }

    static func read(_ fd: Int32, offset: Int, count: Int, _ file: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                buffer.baseAddress.map { pread(fd, $0 + done, count - done, off_t(offset + done)) } ?? 0
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw BackupWriter.ioError("read", file)
            }
            if got == 0 { throw ApplianceError.backupRejected("\(file) changed size while being read") }
            done += got
        }
        return bytes
    }
}
