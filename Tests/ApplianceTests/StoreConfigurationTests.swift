import ApplianceKit
import Foundation
import TestSupport
import Testing

/// The `store:` section (docs/configuration.md#store): SQLite by default, PostgreSQL with hosts,
/// database, user, a password only from a private file or descriptor, and a pinned CA.
@Suite("Appliance configuration: store")
struct StoreConfigurationTests {
    static let postgres = """
        store:
          kind: postgresql
          hosts: ["db1.example.org:5433", "db2.example.org", "[2001:db8::1]:5432"]
          database: rootkeeper
          user: rk
        """

    @Test("no store section is SQLite and validates; a PostgreSQL section with a host list loads, also from the environment")
    func loads() throws {
        #expect(ApplianceConfiguration().store.kind == .sqlite)
        try ApplianceConfiguration().validate()
        let loaded = try ApplianceConfiguration.load(yaml: Self.postgres)
        try loaded.validate()
        let settings = try loaded.postgreSQLConfiguration()
        #expect(settings.hosts.map(\.description) == ["db1.example.org:5433", "db2.example.org:5432", "[2001:db8::1]:5432"])
        #expect(settings.database == "rootkeeper" && settings.user == "rk" && settings.password == nil && settings.tlsCAFile == nil)
        let overridden = try loaded.applyingEnvironment(["ROOTKEEPER_STORE_HOSTS": "10.0.0.5:6432, 10.0.0.6"])
        #expect(try overridden.postgreSQLConfiguration().hosts.map(\.description) == ["10.0.0.5:6432", "10.0.0.6:5432"])
    }

    @Test(
        "each misconfiguration is refused naming the key and what to do",
        arguments: [
            ("store:\n  kind: mysql\n", "store.kind", "must be sqlite or postgresql"),
            ("store:\n  kind: postgresql\n  database: d\n  user: u\n", "store.hosts", "needs at least one host"),
            ("store:\n  kind: postgresql\n  hosts: [h]\n  user: u\n", "store.database", "needs a database name"),
            ("store:\n  kind: postgresql\n  hosts: [h]\n  database: d\n", "store.user", "needs a user"),
            ("store:\n  kind: postgresql\n  hosts: [\"h:99999\"]\n  database: d\n  user: u\n", "store.hosts", "port must be 1…65535"),
            ("store:\n  kind: postgresql\n  hosts: [\"::1:5432\"]\n  database: d\n  user: u\n", "store.hosts", "[address]:port"),
            (
                "store:\n  kind: postgresql\n  hosts: [h]\n  database: d\n  user: u\n  password_file: pw.txt\n", "store.password_file",
                "absolute path or fd:N"
            ),
            ("store:\n  kind: postgresql\n  hosts: [h]\n  database: d\n  user: u\n  tls_ca: ca.pem\n", "store.tls_ca", "absolute path"),
            ("store:\n  hosts: [h]\n", "store.hosts", "only used with store.kind: postgresql"),
            ("store:\n  password: hunter2\n", "store.password", "unknown key"),
            ("store:\n  kind: [sqlite]\n", "store.kind", "expected a single value"),
        ])
    func refused(yaml: String, key: String, message: String) throws {
        let error = #expect(throws: ApplianceError.self) { try ApplianceConfiguration.load(yaml: yaml).validate() }
        #expect(error?.reason.hasPrefix(key + ":") == true, "\(String(describing: error))")
        #expect(error?.reason.contains(message) == true, "\(String(describing: error))")
    }

    @Test(
        "the password comes from a 0600 file (newline dropped) or a descriptor; a file others can read, an empty one or a missing one is refused without showing it"
    )
    func passwordSources() throws {
        let directory = try TemporaryDirectory("store-config")
        defer { directory.remove() }
        let file = directory.file("postgres.password")
        try #require(FileManager.default.createFile(atPath: file, contents: Data("s3cret-pw\n".utf8), attributes: [.posixPermissions: 0o600]))
        var configuration = try ApplianceConfiguration.load(yaml: Self.postgres)
        configuration.store.passwordFile = file
        #expect(try configuration.postgreSQLConfiguration().password == "s3cret-pw")
        #expect(!(try configuration.postgreSQLConfiguration()).description.contains("s3cret"))

        chmod(file, 0o644)
        let readable = #expect(throws: ApplianceError.self) { try configuration.postgreSQLConfiguration() }
        #expect(readable?.reason.contains("mode 644") == true && readable?.reason.contains("chmod 600") == true, "\(String(describing: readable))")
        #expect(readable?.reason.contains("s3cret") == false)

        let empty = directory.file("empty.password")
        try #require(FileManager.default.createFile(atPath: empty, contents: Data("\n".utf8), attributes: [.posixPermissions: 0o600]))
        configuration.store.passwordFile = empty
        let none = #expect(throws: ApplianceError.self) { try configuration.postgreSQLConfiguration() }
        #expect(none?.reason.contains("holds no password") == true)
        configuration.store.passwordFile = directory.file("missing")
        let missing = #expect(throws: ApplianceError.self) { try configuration.postgreSQLConfiguration() }
        #expect(missing?.reason.contains("cannot read") == true)

        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        _ = "from-a-pipe\n".withCString { write(fds[1], $0, strlen($0)) }
        close(fds[1])
        configuration.store.passwordFile = "fd:\(fds[0])"
        #expect(try configuration.postgreSQLConfiguration().password == "from-a-pipe")
        close(fds[0])
    }
}
