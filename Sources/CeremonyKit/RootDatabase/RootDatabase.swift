import Crypto
import Foundation
import PKICore

/// The root CA's own record on the media (`<media>/root-db/root-db.json`, docs/ceremony.md#root-database): which
/// intermediates it signed, which it revoked, the last CRL number and when the next CRL is due.
///
/// It is a small JSON document rather than a database engine: the offline machine has a handful of
/// entries per decade, and officers can read it. Its SHA-256 goes into the transcript after every
/// change and into the token's ``RootAnchor`` at the end of every ceremony, so a database edited,
/// rolled back or deleted between ceremonies is refused before anything is signed
/// (``RootDatabaseCheck``, docs/root-database.md).
public struct RootDatabase: Codable, Sendable, Equatable {
    /// The root certificate this database belongs to.
    public struct Root: Codable, Sendable, Equatable {
        public var subject: String
        public var keyLabel: String
        public var spkiSHA256: String
        public var certificateSHA256: String
        public var notBefore: Date
        public var notAfter: Date
    }

    /// An intermediate CA certificate signed by the root.
    public struct Issued: Codable, Sendable, Equatable {
        public var serial: String
        public var subject: String
        public var spkiSHA256: String
        public var certificateSHA256: String
        public var notBefore: Date
        public var notAfter: Date
        public var issuedAt: Date
    }

    /// A revocation recorded by a CRL ceremony.
    public struct Revoked: Codable, Sendable, Equatable {
        public var serial: String
        /// RFC 5280 §5.3.1 reason name.
        public var reason: String
        public var revokedAt: Date
        public var invalidityDate: Date?
    }

    public var version: Int
    public var root: Root
    public var issued: [Issued]
    public var revoked: [Revoked]
    /// The number of the last root CRL issued; nil before the first.
    public var lastCRLNumber: Int?
    /// thisUpdate of the last CRL: a new CRL never goes back before it, even if the clock does.
    public var lastCRLThisUpdate: Date?
    /// nextUpdate of the last CRL: a new CRL is due before it.
    public var crlDue: Date?

    public init(root: Root) {
        version = 1
        self.root = root
        issued = []
        revoked = []
    }

    /// The number the next CRL must carry: strictly greater than every one before (RFC 5280 §5.2.3).
    public var nextCRLNumber: Int { (lastCRLNumber ?? 0) + 1 }

    /// Finds an issued certificate by serial (hex, any case, leading zeros ignored).
    public func issued(serial: String) -> Issued? {
        let wanted = Self.normalise(serial)
        return issued.first { Self.normalise($0.serial) == wanted }
    }

    /// Whether the serial is already revoked.
    public func isRevoked(serial: String) -> Bool {
        let wanted = Self.normalise(serial)
        return revoked.contains { Self.normalise($0.serial) == wanted }
    }

    static func normalise(_ serial: String) -> String {
        let digits = serial.lowercased().replacingOccurrences(of: ":", with: "")
        let trimmed = digits.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }

    /// The canonical bytes written to the media (sorted keys, ISO 8601 dates, pretty for people).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    /// Decodes the bytes of a root database file.
    public static func decode(_ data: Data) throws -> RootDatabase {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            let database = try decoder.decode(RootDatabase.self, from: data)
            guard database.version == 1 else { throw CeremonyError.rootDatabase("unsupported root database version \(database.version)") }
            return database
        } catch let error as CeremonyError {
            throw error
        } catch {
            throw CeremonyError.rootDatabase("the root database is not valid JSON of the expected form: \(ErrorText.of(error))")
        }
    }

    /// SHA-256 of ``encoded()``, recorded in the transcript.
    public func sha256() throws -> String { Hex.encode(SHA256.hash(data: try encoded())) }
}
