import Crypto
import Foundation
import PKICore

/// The plaintext inside a backup archive: `u32 big-endian manifest length ‖ manifest (JSON) ‖
/// file contents in manifest order`. The manifest lists every file's relative path, size and
/// SHA-256, and what `backup create` saw (certificate count, CRL number) for the summary.
public struct BackupManifest: Codable, Sendable, Hashable {
    /// One file of the state directory (or the configuration, `config/appliance.yaml`).
    public struct Entry: Codable, Sendable, Hashable {
        public var path: String
        public var size: Int
        public var sha256: String
    }

    public var format: Int
    public var createdAt: Date
    /// The state directory the backup was taken from (informational).
    public var sourceStateDirectory: String
    /// "file" when the archive holds the encrypted intermediate key, "pkcs11" when the key stays in the token.
    public var intermediateKey: String
    public var files: [Entry]

    static let maximumManifestSize = 4 << 20
    /// The whole plaintext is held in memory so restore can verify everything before writing;
    /// 2 GiB is far above a realistic CA database and below what an appliance host can hold.
    public static let maximumPayloadSize = 2 << 30
    static let configurationPath = "config/appliance.yaml"
    static let databasePath = "db/rootkeeper.sqlite"
    static let journalPath = "audit/audit.jsonl"

    /// Refuses paths that could escape the restore directory or are not part of the layout: the
    /// database, the audit journal, the configuration, or one of the files `serve` loads as
    /// ``StateDirectory/fileLayout`` defines them (fixed names, lower-case hex issuer
    /// directories, file names of `[A-Za-z0-9._-]`, never `.`/`..`); private keys only where the
    /// layout keeps them.
    static func checkPath(_ path: String) throws {
        guard [databasePath, journalPath, configurationPath].contains(path) || StateDirectory.isServedFile(path) else {
            throw ApplianceError.backupRejected("manifest names an unexpected path '\(path.prefix(200))'")
        }
    }

    /// Serialises the manifest and the contents into the plaintext payload.
    static func payload(manifest: BackupManifest, contents: [[UInt8]]) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let json = Array(try encoder.encode(manifest))
        let length = UInt32(json.count)
        var bytes = [UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)] + json
        for body in contents { bytes += body }
        guard bytes.count <= maximumPayloadSize else {
            throw ApplianceError.unavailable("the state is \(bytes.count >> 20) MiB, above the backup format's \(maximumPayloadSize >> 30) GiB cap")
        }
        return bytes
    }

    /// Parses the decrypted payload and checks it completely: manifest well-formed, paths
    /// allowed and unique, required files present, lengths adding up exactly and every SHA-256
    /// matching. Returns the manifest and the files by path.
    static func parse(payload: [UInt8]) throws -> (BackupManifest, [String: [UInt8]]) {
        guard payload.count >= 4 else { throw ApplianceError.backupRejected("payload too short for a manifest") }
        let length = payload[0..<4].reduce(0) { $0 << 8 | Int($1) }
        guard length <= maximumManifestSize, 4 + length <= payload.count else {
            throw ApplianceError.backupRejected("manifest length \(length) is out of range")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let manifest: BackupManifest
        do { manifest = try decoder.decode(BackupManifest.self, from: Data(payload[4..<(4 + length)])) } catch {
            throw ApplianceError.backupRejected("manifest is not valid JSON of format 1")
        }
        guard manifest.format == 1 else { throw ApplianceError.backupRejected("manifest format \(manifest.format) is not supported") }
        var files: [String: [UInt8]] = [:]
        var offset = 4 + length
        for entry in manifest.files {
            try checkPath(entry.path)
            guard files[entry.path] == nil else { throw ApplianceError.backupRejected("manifest lists \(entry.path) twice") }
            guard entry.size >= 0, entry.size <= payload.count - offset else {
                throw ApplianceError.backupRejected("\(entry.path): size \(entry.size) runs past the end of the archive")
            }
            let body = Array(payload[offset..<(offset + entry.size)])
            guard Hex.encode(SHA256.hash(data: body)) == entry.sha256.lowercased() else {
                throw ApplianceError.backupRejected("\(entry.path): SHA-256 does not match the manifest")
            }
            files[entry.path] = body
            offset += entry.size
        }
        guard offset == payload.count else { throw ApplianceError.backupRejected("\(payload.count - offset) bytes follow the last file") }
        for required in [databasePath, "ca/root-ca.crt", "ca/intermediate-ca.crt"] where files[required] == nil {
            throw ApplianceError.backupRejected("the archive has no \(required)")
        }
        return (manifest, files)
    }
}
