import CAStore
import Foundation
import SecureFiles

/// What goes into a backup, read from a (possibly serving) state directory:
///
/// - `db/rootkeeper.sqlite` — an online snapshot (``SQLiteStore/snapshot(databaseAt:to:busyTimeout:)``),
///   never a copy of the live file, which could be torn mid-transaction or miss the WAL;
/// - `ca/*` certificates and, only for a file-backed intermediate, `ca/private/*.key` — each must
///   be an encrypted PKCS#8 (PEM `ENCRYPTED PRIVATE KEY`); a PKCS#11 PIN is never stored anywhere
///   in the state and so never in a backup;
/// - `crl/*.crl` and `crl/history/*`, `server/*` certificates (not `server/private/server.key`:
///   the appliance issues itself a new server certificate at start when the key is missing);
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
        for name in try regularFiles(in: "ca") { try add("ca/\(name)", to: &collected) }
        for name in try regularFiles(in: "ca/private") {
            let path = "ca/private/\(name)"
            let bytes = try SecureFile.read(state.path("ca", "private", name))
            guard String(decoding: bytes.prefix(64), as: UTF8.self).hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----") else {
                throw ApplianceError.stateDirectory("\(state.path("ca", "private", name)) is not an encrypted PKCS#8 key; refusing to put it in a backup")
            }
            collected.entries.append((path, bytes))
            if name == "intermediate-ca.key" { collected.fileBackedKey = true }
        }
        for name in try regularFiles(in: "crl") { try add("crl/\(name)", to: &collected) }
        for name in try regularFiles(in: "crl/history") { try add("crl/history/\(name)", to: &collected) }
        for name in try regularFiles(in: "server") { try add("server/\(name)", to: &collected) }
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

    private func add(_ relative: String, to collected: inout Collected) throws {
        try BackupManifest.checkPath(relative)
        collected.entries.append((relative, try SecureFile.read(state.root.appendingPathComponent(relative).path, maximumSize: BackupManifest.maximumPayloadSize)))
    }

    /// Names of the regular files directly in `relative` (sorted; temporary `*.tmp-*` files of an
    /// atomic replacement in progress are skipped), or none when the directory is absent.
    private func regularFiles(in relative: String) throws -> [String] {
        let directory = state.root.appendingPathComponent(relative).path
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory).sorted().filter { name in
            var info = stat()
            let full = (directory as NSString).appendingPathComponent(name)
            return lstat(full, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && !name.contains(".tmp-")
        }
    }
}
