import Crypto
import Foundation
import PKCS11
import PKICore

/// What the root token remembers about the media (docs/root-database.md): the root database's
/// SHA-256, the last root CRL number and the transcript head, as they stood at the end of the last
/// ceremony.
///
/// It lives in a private data object on the token (CKO_DATA, CKA_PRIVATE, CKA_TOKEN,
/// CKA_MODIFIABLE, label ``label``), so only the officers, logged in with the PIN, can read or
/// change it. The media (database, transcript, bundles) can be copied, edited or deleted by anyone
/// holding it; the anchor cannot, so a database rolled back to an older copy, a deleted or cut
/// transcript, or a CRL number going back is found before the root key signs anything. The root
/// key itself signs only certificates and CRLs, never the database.
public struct RootAnchor: Codable, Sendable, Equatable {
    /// CKA_LABEL of the anchor object; distinct from any other Rootkeeper data object.
    public static let label = "rootkeeper-root-anchor"
    /// CKA_APPLICATION of the anchor object.
    public static let application = "rootkeeper ceremony"
    public static let currentFormat = "rootkeeper-root-anchor/1"

    /// ``currentFormat``; anything else is refused.
    public var format: String
    /// The root key the anchor belongs to (SPKI SHA-256, as plans pin it).
    public var rootSPKISHA256: String
    /// SHA-256 of the bytes of `root-db/root-db.json` after the last ceremony.
    public var databaseSHA256: String
    /// The number of the last root CRL signed (0 before the first).
    public var lastCRLNumber: Int
    /// The hash of the transcript's last entry after the last ceremony (`ceremony.end`).
    public var transcriptHead: String
    /// How many entries the transcript had then: the head must be the entry at this position.
    public var transcriptEntries: Int
    /// When the anchor was written (UTC, ISO 8601), for people.
    public var writtenAt: String

    enum CodingKeys: String, CodingKey {
        case format
        case rootSPKISHA256 = "root-spki-sha256"
        case databaseSHA256 = "database-sha256"
        case lastCRLNumber = "last-crl-number"
        case transcriptHead = "transcript-head"
        case transcriptEntries = "transcript-entries"
        case writtenAt = "written-at"
    }

    public init(rootSPKISHA256: String, databaseSHA256: String, lastCRLNumber: Int, transcriptHead: String, transcriptEntries: Int, writtenAt: Date) {
        format = Self.currentFormat
        self.rootSPKISHA256 = rootSPKISHA256
        self.databaseSHA256 = databaseSHA256
        self.lastCRLNumber = lastCRLNumber
        self.transcriptHead = transcriptHead
        self.transcriptEntries = transcriptEntries
        let formatter = ISO8601DateFormatter()
        self.writtenAt = formatter.string(from: writtenAt)
    }

    /// The bytes stored in CKA_VALUE: canonical JSON (sorted keys, no whitespace).
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return [UInt8](try encoder.encode(self))
    }

    /// Decodes CKA_VALUE; refuses another format.
    public static func decode(_ bytes: [UInt8]) throws -> RootAnchor {
        let anchor: RootAnchor
        do {
            anchor = try JSONDecoder().decode(RootAnchor.self, from: Data(bytes))
        } catch {
            throw CeremonyError.rootDatabase("the token's root anchor (\(label)) is not readable: \(ErrorText.of(error))")
        }
        guard anchor.format == currentFormat else {
            throw CeremonyError.rootDatabase("the token's root anchor has format \"\(anchor.format)\"; this tool reads \(currentFormat)")
        }
        return anchor
    }
}

/// Reads and writes the ``RootAnchor`` on a logged-in token session.
struct RootAnchorStore {
    let session: PKCS11Session

    /// The anchor, or nil if the token holds none. More than one is refused: which one is true?
    func load() throws -> RootAnchor? {
        let object: PKCS11DataObject?
        do {
            object = try session.dataObject(label: RootAnchor.label)
        } catch let error as PKCS11Error where error.code == .objectExists {
            throw CeremonyError.rootDatabase("\(error.reason). Stop and treat this as an incident")
        } catch {
            throw CeremonyError(.token, "cannot read the root anchor from the token: \(ErrorText.of(error))")
        }
        return try object.map { try RootAnchor.decode($0.value) }
    }

    /// Creates the anchor (root ceremony, recovery on a token without one) or replaces it.
    func write(_ anchor: RootAnchor) throws {
        do {
            try session.replaceDataObject(label: RootAnchor.label, application: RootAnchor.application, value: try anchor.encoded())
        } catch {
            throw CeremonyError(.token, "cannot write the root anchor to the token: \(ErrorText.of(error))")
        }
    }
}

extension RootAnchor {
    /// The anchor for the media as it stands now: the root database's bytes as saved, its last CRL
    /// number and the transcript's head. Written at the end of every ceremony.
    static func current(media: String, transcript: Transcript, at time: Date) throws -> RootAnchor {
        let store = RootDatabaseStore(media: media)
        guard let data = FileManager.default.contents(atPath: store.path) else {
            throw CeremonyError.rootDatabase("cannot read \(store.path) to anchor it in the token")
        }
        let database = try RootDatabase.decode(data)
        return RootAnchor(
            rootSPKISHA256: database.root.spkiSHA256, databaseSHA256: Hex.encode(SHA256.hash(data: data)),
            lastCRLNumber: database.lastCRLNumber ?? 0, transcriptHead: transcript.head, transcriptEntries: transcript.count,
            writtenAt: time)
    }
}
