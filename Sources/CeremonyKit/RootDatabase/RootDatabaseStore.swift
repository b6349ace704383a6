import Foundation
import SecureFiles

/// Reads and writes the root database on the media (`<media>/root-db/root-db.json`).
///
/// Writes replace the file atomically (write, fsync, rename, fsync the directory) so a pulled USB
/// stick leaves either the old or the new database, never half of one.
public struct RootDatabaseStore: Sendable {
    public let directory: String
    public var path: String { (directory as NSString).appendingPathComponent("root-db.json") }

    public init(media: String) {
        directory = (media as NSString).appendingPathComponent("root-db")
    }

    public var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// Loads the database; with `expectedSHA256` (the hash the token's ``RootAnchor`` records)
    /// a database edited between ceremonies is refused.
    public func load(expectedSHA256: String? = nil) throws -> RootDatabase {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CeremonyError.rootDatabase("no root database at \(path); run the root ceremony first")
        }
        let database = try RootDatabase.decode(data)
        if let expectedSHA256 {
            let actual = try database.sha256()
            guard actual == expectedSHA256, try database.encoded() == data else {
                throw CeremonyError.rootDatabase(
                    "\(path) differs from the version the token's anchor records (SHA-256 \(expectedSHA256)); it was changed outside a ceremony")
            }
        }
        return database
    }

    /// Creates the database for a new root; refuses if one exists.
    public func create(_ database: RootDatabase) throws {
        guard !exists else { throw CeremonyError.rootDatabase("\(path) already exists; a root database is never overwritten") }
        try SecureFile.createPrivateDirectory(directory)
        try SecureFile.writeExclusive([UInt8](try database.encoded()), to: path, mode: 0o644)
    }

    /// Replaces the database atomically.
    public func save(_ database: RootDatabase) throws {
        try SecureFile.replaceAtomically([UInt8](try database.encoded()), at: path, mode: 0o644)
    }
}
