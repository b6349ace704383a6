import CAStore
import Foundation
import SecureFiles

/// What goes into a backup, read from a (possibly serving) state directory:
///
/// - `db/rootkeeper.sqlite` — an online snapshot (``SQLiteStore/snapshot(databaseAt:to:busyTimeout:)``),
///   never a copy of the live file, which could be torn mid-transaction or miss the WAL;
/// - every file of ``StateDirectory/servedFiles()`` — the layout `serve` loads from: `ca/*`
///   certificates, the retiring intermediates of a renewal overlap (`ca/issuers/<ski>/`) and the
///   retired ones (`ca/retired/<ski>/`), CRLs and their history, `server/*` certificates (not
///   `server/private/server.key`: the appliance issues itself a new one at start). Keys are
///   included only for file-backed intermediates and each must be an encrypted PKCS#8 (PEM
///   `ENCRYPTED PRIVATE KEY`); a PKCS#11 PIN is never stored anywhere in the state;
/// - `audit/audit.jsonl`, and the configuration file when one is given (`config/appliance.yaml`).
struct BackupSource {
    let state: StateDirectory
    let configurationFile: String?

    struct Collected {
        var entries: [(path: String, contents: [UInt8])] = []
        var fileBackedKey = false
    }

    /// Reads everything; the database snapshot is made in `scratch` (a private directory).
    func collect(scratch: String) throws -> Collected {
        var collected = Collected()
        // The files `serve` loads, from the one definition of the layout (StateDirectory+Layout):
        // the current and the retiring intermediates with their keys, retired ones, CRLs, server
        // certificates.
        for file in try state.servedFiles() {
            let bytes = try SecureFile.read(state.root.appendingPathComponent(file.relativePath).path, maximumSize: BackupManifest.maximumPayloadSize)
            if file.kind == .privateKey {
                guard String(decoding: bytes.prefix(64), as: UTF8.self).hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----") else {
                    throw ApplianceError.stateDirectory(
                        "\(state.root.appendingPathComponent(file.relativePath).path) is not an encrypted PKCS#8 key; refusing to put it in a backup")
                }
                if file.relativePath == "ca/private/intermediate-ca.key" { collected.fileBackedKey = true }
            }
            collected.entries.append((file.relativePath, bytes))
        }
        if FileManager.default.fileExists(atPath: state.path("audit", "audit.jsonl")) {
            // Only whole lines: an append in progress is cut off; the store has the event and the
            // restored appliance exports it again from the database.
            var journal = try SecureFile.read(state.path("audit", "audit.jsonl"), maximumSize: BackupManifest.maximumPayloadSize)
            journal = Array(journal[..<(journal.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0)])
            collected.entries.append(("audit/audit.jsonl", journal))
        }
        if let configurationFile {
            collected.entries.append((BackupManifest.configurationPath, try SecureFile.read(configurationFile, maximumSize: 1 << 20)))
        }
        // The database last: the files above (CRLs, journal) are then never ahead of it, so the
        // restored appliance's next CRL number is above every CRL in the archive, and journal
        // lines missing from the copy are exported again from the database.
        let snapshot = (scratch as NSString).appendingPathComponent("snapshot.sqlite")
        try SQLiteStore.snapshot(databaseAt: state.path("db", "rootkeeper.sqlite"), to: snapshot)
        collected.entries.insert((BackupManifest.databasePath, try SecureFile.read(snapshot, maximumSize: BackupManifest.maximumPayloadSize)), at: 0)
        for required in ["ca/root-ca.crt", "ca/intermediate-ca.crt"] where !collected.entries.contains(where: { $0.path == required }) {
            throw ApplianceError.stateDirectory("\(state.path(required)) is missing; install the intermediate before taking a backup")
        }
        return collected
    }
}
