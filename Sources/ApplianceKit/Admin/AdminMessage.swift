/// The admin socket protocol: one JSON object per line each way. The client sends an
/// ``AdminRequest``; the server answers one ``AdminResponse`` and closes.
public struct AdminRequest: Sendable, Codable, Equatable {
    /// `agents.list`, `agents.show`, `agents.approve`, `agents.reject`, `agents.revoke`,
    /// `agents.token`, `certs.list`, `certs.show`, `certs.revoke`, `certs.expiring`, `crl.generate`.
    public var command: String
    public var arguments: [String: String]

    public init(command: String, arguments: [String: String] = [:]) {
        self.command = command
        self.arguments = arguments
    }
}

/// The answer: the lines to print, or an error message. List commands also carry their
/// ``entries`` with structured fields, which `--format json` prints instead of the lines.
public struct AdminResponse: Sendable, Codable, Equatable {
    public var ok: Bool
    public var lines: [String]
    public var error: String?
    public var entries: [AdminEntry]?

    public init(ok: Bool, lines: [String] = [], error: String? = nil, entries: [AdminEntry]? = nil) {
        self.ok = ok
        self.lines = lines
        self.error = error
        self.entries = entries
    }
}
