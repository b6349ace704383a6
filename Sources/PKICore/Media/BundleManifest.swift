import Crypto
import Foundation

/// The `MANIFEST` of a media bundle (docs/files.md#media-bundles): one `<sha256 hex>  <filename>` line per file,
/// the exact format `sha256sum` writes and `sha256sum -c MANIFEST` checks.
public struct BundleManifest: Sendable, Hashable {
    /// Largest manifest accepted.
    public static let maximumSize = 64 * 1024

    /// SHA-256 (hex) by file name.
    public let entries: [String: String]

    /// The manifest for `files`.
    public init(files: [String: [UInt8]]) throws {
        for name in files.keys { try Self.validate(name: name) }
        entries = files.mapValues { SHA256.hash(data: $0).hexString }
    }

    /// Parses manifest text strictly: every line `64 hex digits, two spaces, a valid name`, no
    /// duplicates, newline-terminated.
    public init(parsing bytes: [UInt8]) throws {
        guard bytes.count <= Self.maximumSize else { throw PKIError.bundle("MANIFEST is larger than \(Self.maximumSize) bytes") }
        guard let text = String(bytes: bytes, encoding: .utf8) else { throw PKIError.bundle("MANIFEST is not UTF-8 text") }
        guard text.isEmpty || text.hasSuffix("\n") else { throw PKIError.bundle("MANIFEST does not end with a newline") }
        var entries: [String: String] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[1].isEmpty, parts[0].utf8.count == 64,
                parts[0].utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
            else {
                throw PKIError.bundle("MANIFEST line \(index + 1) is not '<sha256 hex>  <filename>'")
            }
            let name = String(parts[2])
            try Self.validate(name: name)
            guard entries[name] == nil else { throw PKIError.bundle("MANIFEST lists '\(name)' twice") }
            entries[name] = String(parts[0])
        }
        guard !entries.isEmpty else { throw PKIError.bundle("MANIFEST lists no files") }
        self.entries = entries
    }

    /// The manifest text, sorted by file name.
    public var text: String {
        entries.sorted { $0.key < $1.key }.map { "\($0.value)  \($0.key)\n" }.joined()
    }

    /// Refuses names that are not a plain file in the bundle directory: path separators,
    /// `.`/`..`, hidden files, control characters, names sha256sum would escape, and MANIFEST itself.
    public static func validate(name: String) throws {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 255 else { throw PKIError.bundle("file name '\(name)' has a bad length") }
        guard !bytes.contains(UInt8(ascii: "/")), !bytes.contains(UInt8(ascii: "\\")) else {
            throw PKIError.bundle("file name '\(name)' contains a path separator (path traversal)")
        }
        guard bytes.first != UInt8(ascii: ".") else { throw PKIError.bundle("file name '\(name)' starts with a dot") }
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw PKIError.bundle("file name '\(name)' contains spaces or non-printable characters")
        }
        guard name != MediaBundle.manifestName else { throw PKIError.bundle("MANIFEST cannot list itself") }
    }
}
