import Foundation
import PKICore
import SecureFiles

/// `appliance backup restore`: verifies the whole archive first (``BackupReader``), then writes
/// the state layout (docs/files.md#state-directory) into an empty or new directory with the modes the appliance
/// checks at start: directories per ``StateDirectory`` (private ones 0700), keys, database and
/// audit journal 0600, certificates and CRLs 0644. Each file is created with O_EXCL and fsynced.
/// If writing fails part-way (disk full), everything written is removed again, so the directory
/// is left as empty as it was found.
public struct BackupRestorer: Sendable {
    public init() {}

    /// Restores `file` into `stateDirectory`.
    /// - Parameters:
    ///   - configurationOut: where to write the archived configuration file (must not exist);
    ///     nil leaves it out (the summary says whether the archive has one).
    ///   - owner: uid/gid to hand every restored path to (the service account `serve` drops to);
    ///     nil keeps the current user.
    public func restore(
        file: String, passphrase: SecretBytes, stateDirectory: String, configurationOut: String? = nil,
        owner: (uid: uid_t, gid: gid_t)? = nil
    ) throws -> BackupSummary {
        try restore(file: file, key: .passphrase(passphrase), stateDirectory: stateDirectory, configurationOut: configurationOut, owner: owner)
    }

    /// As ``restore(file:passphrase:stateDirectory:configurationOut:owner:)`` with a passphrase or
    /// a recipient's private key.
    public func restore(
        file: String, key: BackupKeyMaterial, stateDirectory: String, configurationOut: String? = nil,
        owner: (uid: uid_t, gid: gid_t)? = nil
    ) throws -> BackupSummary {
        try Self.checkEmpty(stateDirectory)
        if let configurationOut, FileManager.default.fileExists(atPath: configurationOut) {
            throw ApplianceError.unavailable("\(configurationOut) already exists; refusing to overwrite it with the archived configuration")
        }
        let contents = try BackupReader().read(file: file, key: key)
        if configurationOut != nil, contents.files[BackupManifest.configurationPath] == nil {
            throw ApplianceError.backupRejected("--config-out was given but the archive holds no configuration file")
        }
        let createdRoot = !FileManager.default.fileExists(atPath: stateDirectory)
        let state = StateDirectory(path: stateDirectory)
        var written: [String] = []
        var createdDirectories: [String] = []
        do {
            try state.create()
            for entry in contents.manifest.files where entry.path != BackupManifest.configurationPath {
                createdDirectories += try Self.createParents(of: entry.path, in: state)
                let path = state.root.appendingPathComponent(entry.path).path
                try SecureFile.writeExclusive(contents.files[entry.path] ?? [], to: path, mode: Self.mode(for: entry.path))
                written.append(path)
            }
            if let configurationOut, let configuration = contents.files[BackupManifest.configurationPath] {
                try SecureFile.writeExclusive(configuration, to: configurationOut, mode: 0o600)
                written.append(configurationOut)
            }
            if let owner { try Self.chown(state.root.path, extra: configurationOut, to: owner) }
            try state.checkPermissions()
        } catch {
            for path in written { unlink(path) }
            for directory in createdDirectories.reversed() { rmdir(directory) }
            Self.removeLayout(state, includingRoot: createdRoot)
            throw error
        }
        return contents.summary
    }

    /// Refuses a directory that has anything in it; a missing one is created (its parent must exist).
    static func checkEmpty(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else { throw ApplianceError.stateDirectory("\(directory) exists and is not a directory") }
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory)
        guard entries.isEmpty else {
            throw ApplianceError.stateDirectory(
                "refusing to restore into \(directory): it is not empty (\(counted(entries.count, "entry", plural: "entries")), e.g. \(entries.sorted()[0])); restore into a new or empty directory"
            )
        }
    }

    /// Private keys (wherever ``StateDirectory/fileLayout`` keeps them), the database and the
    /// journal 0600; public certificates and CRLs 0644.
    static func mode(for path: String) -> mode_t {
        if StateDirectory.layoutKind(of: path) == .privateKey || path.hasPrefix("db/") || path.hasPrefix("audit/") { return 0o600 }
        return 0o644
    }

    /// Creates the directories above `relative` that the layout of ``StateDirectory/create()``
    /// does not (`ca/issuers/<ski>/private`, `ca/retired/<ski>` …) with their layout modes;
    /// returns those it created, outermost first.
    static func createParents(of relative: String, in state: StateDirectory) throws -> [String] {
        let components = relative.split(separator: "/").map(String.init).dropLast()
        var created: [String] = []
        for depth in components.indices {
            let prefix = Array(components[...depth])
            let directory = state.path(prefix)
            guard !FileManager.default.fileExists(atPath: directory) else { continue }
            let mode = StateDirectory.directoryMode(prefix.joined(separator: "/"))
            guard mkdir(directory, mode) == 0, chmod(directory, mode) == 0 else {
                throw ApplianceError.stateDirectory("cannot create \(directory): \(String(cString: strerror(errno)))")
            }
            created.append(directory)
        }
        return created
    }

    static func chown(_ root: String, extra: String?, to owner: (uid: uid_t, gid: gid_t)) throws {
        var paths = [root] + (extra.map { [$0] } ?? [])
        if let enumerator = FileManager.default.enumerator(atPath: root) {
            for case let relative as String in enumerator { paths.append((root as NSString).appendingPathComponent(relative)) }
        }
        for path in paths where lchown(path, owner.uid, owner.gid) != 0 {
            throw ApplianceError.unavailable("cannot chown \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Undoes ``StateDirectory/create()`` after a failed restore (deepest directories first).
    static func removeLayout(_ state: StateDirectory, includingRoot: Bool) {
        for (directory, _) in state.layout.reversed() where directory != state.root.path { rmdir(directory) }
        if includingRoot { rmdir(state.root.path) }
    }
}
