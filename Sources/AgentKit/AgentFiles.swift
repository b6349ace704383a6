import Foundation

/// The agent's output directory (`--out`): agent.key (0600), agent.crt, ca-chain.crt and
/// agent-state.json, in a 0700 directory; every file is written to a temporary name and renamed
/// into place so a crash never leaves a half-written key or certificate. While an enrolment is
/// in progress, enrollment-pending.json (0600) names the hostname and agent ID that go with
/// pending.key (the key made for it), so a later run resumes the same registration with the same key.
public struct AgentFiles: Sendable {
    public let directory: URL
    public init(directory: String) { self.directory = URL(fileURLWithPath: directory, isDirectory: true) }

    public var key: String { directory.appendingPathComponent("agent.key").path }
    public var certificate: String { directory.appendingPathComponent("agent.crt").path }
    public var chain: String { directory.appendingPathComponent("ca-chain.crt").path }
    public var state: String { directory.appendingPathComponent("agent-state.json").path }
    /// The enrolment in progress (removed once the certificate is installed).
    public var pending: String { directory.appendingPathComponent("enrollment-pending.json").path }

    public func prepare() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
    }

    /// Writes `bytes` to `path` atomically with `mode` (created with that mode, never wider).
    public func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let temporary = path + ".tmp-\(UUID().uuidString)"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw AgentError(.invalidInput, "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else {
                close(fd)
                unlink(temporary)
                throw AgentError(.invalidInput, "cannot write \(temporary)")
            }
            offset += written
        }
        guard fsync(fd) == 0, close(fd) == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw AgentError(.invalidInput, "cannot install \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// What `agent enroll` remembers for `renew` and `status`.
public struct AgentState: Codable, Sendable, Equatable {
    public var server: String
    /// Further appliance URLs (the other nodes of a cluster on one database), tried in order
    /// when the ones before cannot be reached (docs/agent-files.md). Absent in files written
    /// before it existed.
    public var otherServers: [String]?
    public var pin: String
    public var hostname: String
    public var agentID: String
    public init(server: String, otherServers: [String] = [], pin: String, hostname: String, agentID: String) {
        self.server = server
        self.otherServers = otherServers.isEmpty ? nil : otherServers
        self.pin = pin
        self.hostname = hostname
        self.agentID = agentID
    }

    /// Every appliance URL, in the order they are tried.
    public var servers: [String] { [server] + (otherServers ?? []) }
}
