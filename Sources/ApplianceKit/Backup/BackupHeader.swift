/// The fixed 64-byte header of a Rootkeeper backup archive (format version 1, see
/// docs/backup-format.md). Every byte of it is associated data of every chunk's AEAD, so a
/// change to any header field (KDF cost, salt, chunk size, nonce prefix) makes decryption fail.
///
/// ```
/// offset size  field
///  0      8    magic "RKBACKUP"
///  8      1    format version (1)
///  9      1    AEAD: 1 = AES-256-GCM (swift-crypto)
/// 10      1    KDF: 1 = scrypt (RFC 7914) from a passphrase,
///                   2 = X25519 (RFC 7748) with a recipient key, then HKDF-SHA256 (RFC 5869)
/// 11      1    scrypt log2(N)   (zero for X25519)
/// 12      1    scrypt r         (zero for X25519)
/// 13      1    scrypt p         (zero for X25519)
/// 14      2    reserved, zero
/// 16      4    chunk size: plaintext bytes per chunk, big-endian
/// 20     32    scrypt salt (random), or the ephemeral X25519 public key
/// 52      7    STREAM nonce prefix (random)
/// 59      5    reserved, zero
/// ```
///
/// Parsing is bounded (``BackupKDFParameters/validated(logN:r:p:)``, chunk size 4 KiB–16 MiB), so
/// a crafted header cannot make the reader allocate gigabytes or run scrypt for hours.
public struct BackupHeader: Sendable, Hashable {
    public static let size = 64
    static let magic: [UInt8] = Array("RKBACKUP".utf8)
    static let version: UInt8 = 1
    static let aeadAESGCM: UInt8 = 1
    static let kdfScrypt: UInt8 = 1
    static let kdfX25519: UInt8 = 2
    /// Bounds on the chunk size a reader accepts.
    static let chunkSizeRange = 4096...(16 << 20)
    /// Default plaintext bytes per chunk (1 MiB): small enough to keep per-chunk memory low,
    /// large enough that the 16-byte tags cost nothing.
    public static let defaultChunkSize = 1 << 20

    /// scrypt cost for a passphrase archive; nil for a recipient archive (X25519, `salt` holds
    /// the ephemeral public key).
    public var kdf: BackupKDFParameters?
    public var chunkSize: Int
    public var salt: [UInt8]
    public var noncePrefix: [UInt8]

    public init(kdf: BackupKDFParameters?, chunkSize: Int = BackupHeader.defaultChunkSize, salt: [UInt8], noncePrefix: [UInt8]) throws {
        guard Self.chunkSizeRange.contains(chunkSize) else {
            throw ApplianceError.backupRejected(
                "chunk size \(chunkSize) is outside \(Self.chunkSizeRange.lowerBound)–\(Self.chunkSizeRange.upperBound) bytes")
        }
        guard salt.count == 32, noncePrefix.count == 7 else { throw ApplianceError.backupRejected("salt must be 32 bytes and nonce prefix 7 bytes") }
        self.kdf = kdf
        self.chunkSize = chunkSize
        self.salt = salt
        self.noncePrefix = noncePrefix
    }

    /// The 64 header bytes.
    public var encoded: [UInt8] {
        var bytes = Self.magic
        if let kdf {
            bytes += [Self.version, Self.aeadAESGCM, Self.kdfScrypt, UInt8(kdf.logN), UInt8(kdf.r), UInt8(kdf.p), 0, 0]
        } else {
            bytes += [Self.version, Self.aeadAESGCM, Self.kdfX25519, 0, 0, 0, 0, 0]
        }
        let size = UInt32(chunkSize)
        bytes += [UInt8(size >> 24), UInt8((size >> 16) & 0xff), UInt8((size >> 8) & 0xff), UInt8(size & 0xff)]
        bytes += salt + noncePrefix + [0, 0, 0, 0, 0]
        return bytes
    }

    /// Parses and bounds-checks a header; every refusal says which field is wrong.
    public init(parsing bytes: [UInt8]) throws {
        guard bytes.count >= Self.size else {
            throw ApplianceError.backupRejected(
                "the file is \(bytes.count) bytes, shorter than a backup header (\(Self.size)); it is truncated or not a backup")
        }
        guard Array(bytes[0..<8]) == Self.magic else { throw ApplianceError.backupRejected("not a Rootkeeper backup (bad magic)") }
        guard bytes[8] == Self.version else {
            throw ApplianceError.backupRejected("unsupported backup format version \(bytes[8]) (this build reads version \(Self.version))")
        }
        guard bytes[9] == Self.aeadAESGCM else { throw ApplianceError.backupRejected("unsupported AEAD identifier \(bytes[9])") }
        guard bytes[10] == Self.kdfScrypt || bytes[10] == Self.kdfX25519 else {
            throw ApplianceError.backupRejected("unsupported KDF identifier \(bytes[10])")
        }
        guard bytes[14] == 0, bytes[15] == 0, bytes[59..<64].allSatisfy({ $0 == 0 }) else {
            throw ApplianceError.backupRejected("reserved header bytes are not zero")
        }
        let kdf: BackupKDFParameters?
        if bytes[10] == Self.kdfScrypt {
            kdf = try BackupKDFParameters.validated(logN: Int(bytes[11]), r: Int(bytes[12]), p: Int(bytes[13]))
        } else {
            guard bytes[11..<14].allSatisfy({ $0 == 0 }) else { throw ApplianceError.backupRejected("an X25519 header carries scrypt parameters") }
            kdf = nil
        }
        let chunkSize = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }
        try self.init(kdf: kdf, chunkSize: chunkSize, salt: Array(bytes[20..<52]), noncePrefix: Array(bytes[52..<59]))
    }
}
