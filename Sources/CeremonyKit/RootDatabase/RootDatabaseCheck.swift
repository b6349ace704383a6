import Crypto
import Foundation
import PKICore
import X509

/// The start-of-ceremony check of the media against the token's ``RootAnchor``: run after the
/// officer logs in and before the root key signs anything (docs/root-database.md).
///
/// Refused, each with what was found and what to do: a transcript that is missing, shorter than
/// the anchor records or whose entry at the anchored position is not the anchored head (cut or
/// rewritten); a root database missing, or whose SHA-256 is not the anchored one (edited, or an
/// older copy); a CRL number behind the anchor's; a database older than a root CRL or a
/// certificate the root demonstrably signed that lies on the media.
struct RootDatabaseCheck {
    let media: String
    let anchor: RootAnchor

    static let recoverHint =
        "if the database is lost, rebuild it with witnesses: `ceremony recover` (Runbooks/root-crl-reissue.md, \"Recovering the root database\")"

    /// Returns the database, checked.
    func run(transcript: Transcript.State, root: Certificate?) throws -> RootDatabase {
        try checkTranscript(transcript)
        let store = RootDatabaseStore(media: media)
        guard let data = FileManager.default.contents(atPath: store.path) else {
            throw CeremonyError.rootDatabase(
                "no root database at \(store.path), but the token's anchor records one (SHA-256 \(anchor.databaseSHA256)). "
                    + "Restore it from a copy of the media; \(Self.recoverHint). Nothing was signed")
        }
        let digest = Hex.encode(SHA256.hash(data: data))
        guard digest == anchor.databaseSHA256 else {
            throw CeremonyError.rootDatabase(
                "\(store.path) (SHA-256 \(digest)) is not the root database the token's anchor records (SHA-256 \(anchor.databaseSHA256), "
                    + "last root CRL \(anchor.lastCRLNumber)): it was edited or replaced by another copy outside a ceremony. "
                    + "Restore the copy whose SHA-256 is \(anchor.databaseSHA256); \(Self.recoverHint). Nothing was signed")
        }
        let database = try RootDatabase.decode(data)
        guard database.root.spkiSHA256 == anchor.rootSPKISHA256 else {
            throw CeremonyError.rootDatabase(
                "the root database on the media belongs to another root key than the token's anchor (root SPKI SHA-256 \(anchor.rootSPKISHA256)): "
                    + "wrong token or wrong media; compare the paper log's root SPKI SHA-256 with the token's and use the media of that root. Nothing was signed"
            )
        }
        guard (database.lastCRLNumber ?? 0) == anchor.lastCRLNumber else {
            throw CeremonyError.rootDatabase(
                "the root database's last CRL number is \(database.lastCRLNumber ?? 0) but the token's anchor records \(anchor.lastCRLNumber): "
                    + "a CRL number never goes back (RFC 5280 §5.2.3). \(Self.recoverHint)")
        }
        if let root { try checkAgainstMedia(database, root: root) }
        return database
    }

    func checkTranscript(_ transcript: Transcript.State) throws {
        let anchored = "the token's anchor records \(anchor.transcriptEntries) entries ending at head \(Self.words(anchor.transcriptHead))"
        guard transcript.count > 0 else {
            throw CeremonyError.transcript(
                "no transcript on the media (\(media)/transcript.jsonl), but \(anchored). Restore transcript.jsonl from a copy of the media "
                    + "whose head matches the paper log; nothing was signed")
        }
        guard transcript.count >= anchor.transcriptEntries else {
            throw CeremonyError.transcript(
                "the transcript on the media has \(transcript.count) entries, but \(anchored): it was cut. Restore it from a copy of the "
                    + "media whose head matches the paper log; nothing was signed")
        }
        let entry = transcript.entries[anchor.transcriptEntries - 1]
        guard entry.hash == anchor.transcriptHead else {
            throw CeremonyError.transcript(
                "entry \(anchor.transcriptEntries) of the transcript on the media has hash \(Self.words(entry.hash)), but \(anchored): "
                    + "the transcript was rewritten. Stop, treat it as an incident, and restore the media from a copy whose head matches the paper log; nothing was signed"
            )
        }
    }

    /// The database must know every CRL number and intermediate the root signed on the media.
    func checkAgainstMedia(_ database: RootDatabase, root: Certificate) throws {
        let artefacts = RootArtefacts.scan(media: media, root: root)
        if let newest = artefacts.newestCRL, newest.number > (database.lastCRLNumber ?? 0) {
            throw CeremonyError.rootDatabase(
                "the media holds root CRL number \(newest.number) (\(newest.path)), signed by this root, but the root database's last CRL is "
                    + "\(database.lastCRLNumber ?? 0): the database is older than the media. \(Self.recoverHint)")
        }
        for found in artefacts.certificates where database.issued(serial: found.serialHex) == nil {
            throw CeremonyError.rootDatabase(
                "the media holds a certificate signed by this root that the root database does not list (serial \(found.serialHex), "
                    + "\(found.path)): the database is older than the media. \(Self.recoverHint)")
        }
    }

    /// The first 8 PGP words of a head, as the paper log holds them.
    static func words(_ head: String) -> String {
        PGPWordList.words(for: Hex.decode(head, typed: true) ?? []).prefix(8).joined(separator: " ")
    }
}
