import Crypto

/// A media bundle (docs/files.md#media-bundles): named payload files, a short human `SUMMARY` and a `MANIFEST` of
/// SHA-256 hashes covering both. Pure values: ``SecureFiles/BundleDirectory`` does the file I/O.
///
/// Verification happens before anything in the bundle is parsed: a file whose hash differs, a
/// file not listed, a listed file missing, or a name that could escape the directory is refused.
public struct MediaBundle: Sendable, Hashable {
    public static let manifestName = "MANIFEST"
    public static let summaryName = "SUMMARY"
    /// Largest single file accepted in a bundle.
    public static let maximumFileSize = 16 << 20

    /// Every file except MANIFEST (payload and SUMMARY), by name.
    public let files: [String: [UInt8]]
    public let manifest: BundleManifest

    /// Builds a bundle from payload files and a summary text.
    public init(payload: [String: [UInt8]], summary: String) throws {
        guard payload[Self.summaryName] == nil else { throw PKIError.bundle("a payload file cannot be named SUMMARY") }
        var files = payload
        files[Self.summaryName] = Array(summary.utf8)
        for (name, bytes) in files where bytes.count > Self.maximumFileSize {
            throw PKIError.bundle("'\(name)' is larger than \(Self.maximumFileSize) bytes")
        }
        self.manifest = try BundleManifest(files: files)
        self.files = files
    }

    /// Verifies files read from a bundle directory (MANIFEST included) and returns the bundle.
    public static func verify(files directoryFiles: [String: [UInt8]]) throws -> MediaBundle {
        guard let manifestBytes = directoryFiles[manifestName] else { throw PKIError.bundle("the bundle has no MANIFEST") }
        let manifest = try BundleManifest(parsing: manifestBytes)
        var files = directoryFiles
        files[manifestName] = nil
        for name in files.keys.sorted() where manifest.entries[name] == nil {
            throw PKIError.bundle("'\(name)' is in the bundle but not listed in MANIFEST")
        }
        for (name, expected) in manifest.entries.sorted(by: { $0.key < $1.key }) {
            guard let bytes = files[name] else { throw PKIError.bundle("'\(name)' is listed in MANIFEST but missing") }
            guard SHA256.hash(data: bytes).hexString == expected else {
                throw PKIError.bundle("'\(name)' does not match its SHA-256 in MANIFEST")
            }
        }
        guard files[summaryName] != nil else { throw PKIError.bundle("the bundle has no SUMMARY") }
        return MediaBundle(files: files, manifest: manifest)
    }

    private init(files: [String: [UInt8]], manifest: BundleManifest) {
        self.files = files
        self.manifest = manifest
    }

    /// A payload file's bytes.
    public func file(_ name: String) -> [UInt8]? { files[name] }

    /// The SUMMARY text.
    public var summary: String { String(decoding: files[Self.summaryName] ?? [], as: UTF8.self) }

    /// Every file to write, MANIFEST last, as (name, bytes).
    public var filesToWrite: [(name: String, bytes: [UInt8])] {
        files.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } + [(Self.manifestName, Array(manifest.text.utf8))]
    }
}
