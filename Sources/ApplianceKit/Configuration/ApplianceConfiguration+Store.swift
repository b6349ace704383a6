import CAStore
import Foundation

extension ApplianceConfiguration {
    /// `store` — where the appliance keeps its records (docs/configuration.md#store). SQLite in the
    /// state directory by default; PostgreSQL for several nodes sharing one database.
    public struct Store: Sendable, Equatable {
        public enum Kind: String, Sendable, Equatable, CaseIterable {
            case sqlite
            case postgresql
        }
        /// `store.kind` — `sqlite` (default: `<state>/db/rootkeeper.sqlite`) or `postgresql`.
        public var kind: Kind = .sqlite
        /// `store.hosts` — `host[:port]` entries (port 5432 by default), tried in order; the first
        /// writable one (a primary, not a standby in recovery) is used.
        public var hosts: [String] = []
        /// `store.database` — the PostgreSQL database.
        public var database: String = ""
        /// `store.user` — the PostgreSQL role.
        public var user: String = ""
        /// `store.password_file` — a file (mode 0600 or stricter) holding the password, or `fd:N`
        /// to read it from an inherited file descriptor. Never the password itself.
        public var passwordFile: String = ""
        /// `store.tls_ca` — PEM CA certificate of the server; when set, TLS is required and the
        /// server's name is verified (libpq `sslmode=verify-full`).
        public var tlsCA: String = ""
        /// `store.max_connections` — size of this node's connection pool.
        public var maxConnections: Int = 16
        public init() {}
    }

    /// The `store.*` keys (appended to ``ConfigurationKey/all``).
    static let storeKeys: [ConfigurationKey] = [
        ConfigurationKey(path: "store.kind", summary: "sqlite (default) or postgresql") { config, text in
            guard let kind = Store.Kind(rawValue: text) else {
                throw ApplianceError.configuration("store.kind", "must be sqlite or postgresql, got \"\(text)\"")
            }
            config.store.kind = kind
        },
        ConfigurationKey(
            path: "store.hosts", summary: "PostgreSQL host[:port] list, tried in order (comma-separated in the environment)",
            acceptsList: true
        ) { config, text in
            config.store.hosts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        },
        .string("store.database", "PostgreSQL database") { $0.store.database = $1 },
        .string("store.user", "PostgreSQL user") { $0.store.user = $1 },
        .string("store.password_file", "file (mode 0600) or fd:N holding the PostgreSQL password") { $0.store.passwordFile = $1 },
        .string("store.tls_ca", "PEM CA of the PostgreSQL server; set: TLS with verify-full") { $0.store.tlsCA = $1 },
        .int("store.max_connections", "PostgreSQL connection pool size of this node") { $0.store.maxConnections = $1 },
    ]

    /// Checks the `store` section; every error names the key and what to do.
    func validateStore() throws {
        switch store.kind {
        case .sqlite:
            for (key, set) in [
                ("store.hosts", !store.hosts.isEmpty), ("store.database", !store.database.isEmpty),
                ("store.user", !store.user.isEmpty), ("store.password_file", !store.passwordFile.isEmpty),
                ("store.tls_ca", !store.tlsCA.isEmpty),
            ] where set {
                throw ApplianceError.configuration(key, "is only used with store.kind: postgresql (the store is sqlite); remove it or set store.kind")
            }
        case .postgresql:
            guard !store.hosts.isEmpty else {
                throw ApplianceError.configuration("store.hosts", "store.kind postgresql needs at least one host, e.g. [\"db1.example:5432\"]")
            }
            for host in store.hosts { _ = try Self.parseHost(host) }
            guard !store.database.isEmpty else { throw ApplianceError.configuration("store.database", "store.kind postgresql needs a database name") }
            guard !store.user.isEmpty else { throw ApplianceError.configuration("store.user", "store.kind postgresql needs a user") }
            guard (1...1000).contains(store.maxConnections) else {
                throw ApplianceError.configuration("store.max_connections", "must be 1…1000")
            }
            if !store.passwordFile.isEmpty, !store.passwordFile.hasPrefix("fd:"), !store.passwordFile.hasPrefix("/") {
                throw ApplianceError.configuration("store.password_file", "must be an absolute path or fd:N")
            }
            if !store.tlsCA.isEmpty, !store.tlsCA.hasPrefix("/") {
                throw ApplianceError.configuration("store.tls_ca", "must be an absolute path")
            }
        }
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`.
    static func parseHost(_ text: String) throws -> PostgreSQLStore.Configuration.Host {
        var host = text
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw ApplianceError.configuration("store.hosts", "\"\(text)\": an IPv6 address needs a closing ]")
            }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw ApplianceError.configuration("store.hosts", "\"\(text)\": expected [address]:port") }
                portText = rest.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            guard text.firstIndex(of: ":") == colon else {
                throw ApplianceError.configuration("store.hosts", "\"\(text)\": write an IPv6 address as [address]:port")
            }
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw ApplianceError.configuration("store.hosts", "\"\(text)\": the host is empty") }
        var port = 5432
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw ApplianceError.configuration("store.hosts", "\"\(text)\": the port must be 1…65535")
            }
            port = value
        }
        return .init(host: host, port: port)
    }

    /// The PostgreSQL store's connection settings, with the password read from its file or
    /// descriptor (never logged). Throws naming the key when the file is unsafe or unreadable.
    public func postgreSQLConfiguration() throws -> PostgreSQLStore.Configuration {
        try validateStore()
        var password: String?
        if !store.passwordFile.isEmpty { password = try Self.readPassword(store.passwordFile) }
        return PostgreSQLStore.Configuration(
            hosts: try store.hosts.map(Self.parseHost), database: store.database, user: store.user, password: password,
            tlsCAFile: store.tlsCA.isEmpty ? nil : store.tlsCA, maximumConnections: store.maxConnections)
    }

    /// Reads a password from a file that no one else can read (mode 0600 or stricter, a regular
    /// file) or from `fd:N`; the trailing newline is dropped.
    static func readPassword(_ source: String) throws -> String {
        let data: Data
        if source.hasPrefix("fd:") {
            guard let fd = Int32(source.dropFirst(3)), fd >= 0 else {
                throw ApplianceError.configuration("store.password_file", "\(source): expected fd:N with N a file descriptor number")
            }
            let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
            do { data = try handle.readToEnd() ?? Data() } catch {
                throw ApplianceError.configuration("store.password_file", "cannot read file descriptor \(fd): \(error)")
            }
        } else {
            var info = stat()
            guard lstat(source, &info) == 0 else {
                throw ApplianceError.configuration("store.password_file", "cannot read \(source): \(String(cString: strerror(errno)))")
            }
            guard info.st_mode & S_IFMT == S_IFREG else {
                throw ApplianceError.configuration("store.password_file", "\(source) is not a regular file")
            }
            guard info.st_mode & 0o077 == 0 else {
                throw ApplianceError.configuration(
                    "store.password_file",
                    String(
                        format: "%@ is mode %o: others can read the password; chmod 600 it", source, Int(info.st_mode & 0o777)))
            }
            guard let contents = FileManager.default.contents(atPath: source) else {
                throw ApplianceError.configuration("store.password_file", "cannot read \(source)")
            }
            data = contents
        }
        var password = String(decoding: data, as: UTF8.self)
        while password.hasSuffix("\n") || password.hasSuffix("\r") { password.removeLast() }
        guard !password.isEmpty else { throw ApplianceError.configuration("store.password_file", "\(source) holds no password") }
        return password
    }
}
