import Crypto
import Foundation
import PKICore

/// One event of a ceremony transcript (docs/ceremony.md#transcript): who did what, when, on which token, with which
/// inputs and outputs (by SHA-256), chained to the previous entry by hash.
public struct TranscriptEntry: Codable, Sendable, Equatable {
    /// The person acting and in which role (officer, witness, auditor, tool).
    public struct Actor: Codable, Sendable, Equatable {
        public var role: String
        public var name: String
        public init(role: String, name: String) {
            self.role = role
            self.name = name
        }
    }

    /// The token the event used, as PKCS#11 reports it.
    public struct Token: Codable, Sendable, Equatable {
        public var label: String
        public var serial: String
        public var model: String
        public var manufacturer: String
        public init(label: String, serial: String, model: String, manufacturer: String) {
            self.label = label
            self.serial = serial
            self.model = model
            self.manufacturer = manufacturer
        }
    }

    /// Position in the transcript, from 1.
    public var seq: Int
    /// UTC time, ISO 8601 with seconds.
    public var time: String
    public var actor: Actor
    /// What happened, e.g. `ceremony.start`, `key.generated`, `certificate.signed`.
    public var event: String
    /// Input files or values by name → SHA-256 hex.
    public var inputs: [String: String]
    /// Output files by name → SHA-256 hex.
    public var outputs: [String: String]
    public var token: Token?
    /// Further facts for auditors (plain text; never secrets).
    public var details: [String: String]
    /// Hash of the previous entry (64 zeros for the first).
    public var prev: String
    /// SHA-256 over the canonical JSON of this entry without `hash`.
    public var hash: String

    public static let genesis = String(repeating: "0", count: 64)

    /// The canonical encoding: sorted keys, no whitespace, slashes unescaped. The transcript stores
    /// exactly these bytes, so any edited byte either breaks parsing, the canonical form or the hash.
    static func canonicalJSON<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    /// The hash this entry must carry, computed over every field but `hash`.
    public func computedHash() throws -> String {
        var unhashed = self
        unhashed.hash = ""
        return Hex.encode(SHA256.hash(data: try Self.canonicalJSON(unhashed)))
    }

    /// The line written to `transcript.jsonl` (without the newline).
    func line() throws -> Data { try Self.canonicalJSON(self) }
}
