import Crypto
import Foundation
import PKICore

/// What a caller asks to be audited; the log assigns sequence number and hashes.
public struct AuditEntry: Hashable, Sendable {
    public var time: Date
    /// Who acted: an administrator's name, `agent:<uuid>`, or `system`.
    public var actor: String
    /// What happened, e.g. `certificate.reserved`, `registration.approved`.
    public var action: String
    /// What it happened to: a serial, an agent ID, a registration ID.
    public var subject: String
    /// Further facts; encoded as canonical JSON (sorted keys).
    public var details: [String: String]

    public init(time: Date, actor: String, action: String, subject: String, details: [String: String] = [:]) {
        self.time = time
        self.actor = actor
        self.action = action
        self.subject = subject
        self.details = details
    }
}

/// One entry of the hash-chained audit log. `hash` = SHA-256 over the canonical encoding of every
/// other field including `prevHash`, so editing, deleting or reordering any entry breaks the chain
/// from that entry on.
public struct AuditEvent: Hashable, Sendable, Codable {
    /// 1-based, contiguous.
    public var seq: Int64
    /// Milliseconds since 1970 (the hashed precision; stored exactly).
    public var timeMilliseconds: Int64
    public var actor: String
    public var action: String
    public var subject: String
    /// Canonical JSON of the details, exactly as hashed.
    public var detailsJSON: String
    /// Hash of the previous entry (64 zeros for the first), lower-case hex.
    public var prevHash: String
    /// Lower-case hex SHA-256 of ``canonicalBytes``.
    public var hash: String

    /// The hash of the entry before the first.
    public static let genesisHash = String(repeating: "0", count: 64)

    public var time: Date { Date(timeIntervalSince1970: Double(timeMilliseconds) / 1000) }

    public init(
        seq: Int64, timeMilliseconds: Int64, actor: String, action: String, subject: String,
        detailsJSON: String, prevHash: String, hash: String
    ) {
        self.seq = seq
        self.timeMilliseconds = timeMilliseconds
        self.actor = actor
        self.action = action
        self.subject = subject
        self.detailsJSON = detailsJSON
        self.prevHash = prevHash
        self.hash = hash
    }

    /// Chains `entry` after an event with sequence `previousSeq` and hash `prevHash`.
    public static func chained(_ entry: AuditEntry, previousSeq: Int64, prevHash: String) throws -> AuditEvent {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json: String
        do {
            json = String(decoding: try encoder.encode(entry.details), as: UTF8.self)
        } catch {
            throw StoreError(.invalidArgument, "audit details cannot be encoded: \(error)")
        }
        let millis = Int64((entry.time.timeIntervalSince1970 * 1000).rounded(.down))
        var event = AuditEvent(
            seq: previousSeq + 1, timeMilliseconds: millis, actor: entry.actor, action: entry.action,
            subject: entry.subject, detailsJSON: json, prevHash: prevHash, hash: "")
        event.hash = event.computedHash()
        return event
    }

    /// Length-prefixed fields so no two different events encode alike.
    public var canonicalBytes: [UInt8] {
        var out: [UInt8] = []
        func field(_ bytes: [UInt8]) {
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { out += $0 }
            out += bytes
        }
        field(Array("rootkeeper-audit-v1".utf8))
        field(Array(String(seq).utf8))
        field(Array(String(timeMilliseconds).utf8))
        field(Array(actor.utf8))
        field(Array(action.utf8))
        field(Array(subject.utf8))
        field(Array(detailsJSON.utf8))
        field(Array(prevHash.utf8))
        return out
    }

    /// The hash this event should carry.
    public func computedHash() -> String { Hex.encode(Array(SHA256.hash(data: canonicalBytes))) }
}

/// The result of checking the audit chain.
public enum AuditVerification: Hashable, Sendable {
    /// Every entry hashes correctly and links to its predecessor.
    case intact(count: Int64, headHash: String)
    /// The first entry that does not verify, and why.
    case broken(seq: Int64, reason: String)

    /// Walks `events` in order and returns the first break. `events` must be sorted by `seq`.
    public static func verify(_ events: some Sequence<AuditEvent>) -> AuditVerification {
        var verifier = Verifier()
        for event in events {
            if let broken = verifier.feed(event) { return broken }
        }
        return verifier.result
    }

    /// Incremental verifier for stores that page through a long log.
    public struct Verifier: Sendable {
        private var expectedSeq: Int64 = 1
        private var prevHash = AuditEvent.genesisHash

        public init() {}

        /// Checks the next event; returns `.broken` at the first bad one.
        public mutating func feed(_ event: AuditEvent) -> AuditVerification? {
            if event.seq != expectedSeq {
                return .broken(seq: expectedSeq, reason: "entry \(expectedSeq) is missing (found \(event.seq))")
            }
            if event.prevHash != prevHash {
                return .broken(seq: event.seq, reason: "entry \(event.seq) does not link to entry \(event.seq - 1)")
            }
            if event.computedHash() != event.hash {
                return .broken(seq: event.seq, reason: "entry \(event.seq) was altered (hash mismatch)")
            }
            expectedSeq += 1
            prevHash = event.hash
            return nil
        }

        /// The verdict when no break was found.
        public var result: AuditVerification { .intact(count: expectedSeq - 1, headHash: prevHash) }
    }
}
