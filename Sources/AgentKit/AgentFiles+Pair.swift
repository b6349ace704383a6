import Foundation

/// Key and certificate are replaced together, by one rename (docs/agent-files.md):
///
///     agent.key -> current/agent.key        (symbolic links, made once)
///     agent.crt -> current/agent.crt
///     current   -> pairs/<serial>-<nonce>   (swapped by rename(2): the one atomic step)
///     previous  -> pairs/<older pair>       (kept until the new pair is proven over mTLS)
///     pending.key                           (the key of a renewal in flight, reused on retry)
///
/// A new pair is written completely (key 0600 and certificate, fsynced) into its own 0700
/// directory before `current` is swapped, so a crash at any instant leaves `agent.key` and
/// `agent.crt` naming a matching pair — the old one or the new one, never one of each.
extension AgentFiles {
    public var pairs: String { directory.appendingPathComponent("pairs").path }
    public var current: String { directory.appendingPathComponent("current").path }
    public var previous: String { directory.appendingPathComponent("previous").path }
    /// The private key of a renewal whose answer has not been installed yet (0600).
    public var pendingKey: String { directory.appendingPathComponent("pending.key").path }

    /// Installs `keyPEM` + `certificatePEM` as the current pair; the pair it replaces stays
    /// reachable as `previous` until ``forgetPrevious()``.
    public func installPair(keyPEM: [UInt8], certificatePEM: [UInt8], name: String) throws {
        try prepare()
        try Self.makePrivateDirectory(pairs)
        let pairName = try writePair(keyPEM: keyPEM, certificatePEM: certificatePEM, name: name)
        try adoptLegacyPair()
        if let old = Self.linkTarget(current) { try Self.replaceLink(previous, target: old) }
        try Self.replaceLink(current, target: "pairs/\(pairName)")
        try linkFiles()
        try Self.syncDirectory(directory.path)
    }

    /// Writes a complete pair into a staging directory and renames it into `pairs/`; returns its name.
    func writePair(keyPEM: [UInt8], certificatePEM: [UInt8], name: String) throws -> String {
        let pairName = "\(name)-\(UUID().uuidString.prefix(8).lowercased())"
        let staging = (pairs as NSString).appendingPathComponent(".staging-\(UUID().uuidString.lowercased())")
        try Self.makePrivateDirectory(staging)
        try writeAtomically(keyPEM, to: (staging as NSString).appendingPathComponent("agent.key"), mode: 0o600)
        try writeAtomically(certificatePEM, to: (staging as NSString).appendingPathComponent("agent.crt"), mode: 0o644)
        try Self.move(staging, (pairs as NSString).appendingPathComponent(pairName))
        try Self.syncDirectory(pairs)
        return pairName
    }

    /// Makes `agent.key` and `agent.crt` links into `current` (once; later swaps only move `current`).
    func linkFiles() throws {
        for file in ["agent.key", "agent.crt"] where Self.linkTarget(directory.appendingPathComponent(file).path) != "current/\(file)" {
            try Self.replaceLink(directory.appendingPathComponent(file).path, target: "current/\(file)")
        }
    }

    /// Removes the previous pair (and anything a crash left in `pairs/`) once the current pair
    /// has been proven by a successful mTLS call.
    public func forgetPrevious() throws {
        guard let live = Self.linkTarget(current).map({ ($0 as NSString).lastPathComponent }) else { return }
        if Self.linkTarget(previous) != nil, unlink(previous) != 0 {
            throw AgentError(.invalidInput, "cannot remove \(previous): \(String(cString: strerror(errno)))")
        }
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: pairs)) ?? [] where entry != live {
            try FileManager.default.removeItem(atPath: (pairs as NSString).appendingPathComponent(entry))
        }
        // Links and files a killed run left half-made (`current.tmp-…`, `agent.key.tmp-…`).
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where entry.contains(".tmp-") {
            try FileManager.default.removeItem(atPath: directory.appendingPathComponent(entry).path)
        }
    }

    /// A pre-pair directory (agent.key and agent.crt as plain files) moved into the layout without
    /// ever showing a mismatched pair: the old pair is copied into `pairs/`, then each plain file
    /// is replaced by a link to the identical copy.
    func adoptLegacyPair() throws {
        // attributesOfItem does not follow links: only a plain file is a legacy pair.
        guard let type = try? FileManager.default.attributesOfItem(atPath: key)[.type] as? FileAttributeType,
            type == .typeRegular
        else { return }
        let keyBytes = Array(try Data(contentsOf: URL(fileURLWithPath: key)))
        let certificateBytes = Array(try Data(contentsOf: URL(fileURLWithPath: certificate)))
        let adopted = try writePair(keyPEM: keyBytes, certificatePEM: certificateBytes, name: "adopted")
        try Self.replaceLink(current, target: "pairs/\(adopted)")
        try linkFiles()
    }

    static func makePrivateDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0, errno != EEXIST {
            throw AgentError(.invalidInput, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        guard chmod(path, 0o700) == 0 else { throw AgentError(.invalidInput, "cannot restrict \(path): \(String(cString: strerror(errno)))") }
    }

    static func linkTarget(_ path: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: path)
    }

    /// Points the link `path` at `target` with one rename (atomic for readers).
    static func replaceLink(_ path: String, target: String) throws {
        let temporary = path + ".tmp-\(UUID().uuidString.lowercased())"
        guard symlink(target, temporary) == 0 else {
            throw AgentError(.invalidInput, "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        do { try move(temporary, path) } catch {
            unlink(temporary)
            throw error
        }
    }

    /// rename(2): atomic replacement of `to`.
    static func move(_ from: String, _ to: String) throws {
        guard rename(from, to) == 0 else {
            throw AgentError(.invalidInput, "cannot install \(to): \(String(cString: strerror(errno)))")
        }
    }

    /// Makes the renames in `path` durable (a crash after this returns keeps them).
    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw AgentError(.invalidInput, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw AgentError(.invalidInput, "cannot sync \(path): \(String(cString: strerror(errno)))") }
    }
}
