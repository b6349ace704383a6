import Foundation
import SecureFiles

/// A throwaway PostgreSQL server for tests (scripts/lib/postgres.sh in Swift): `initdb` + `pg_ctl`
/// in a temporary directory, listening on 127.0.0.1 at a port chosen at run time and on a Unix
/// socket inside that directory, owned by the unprivileged `postgres` user when the tests run as
/// root (PostgreSQL refuses to run as root). Authentication is `trust` for the test superuser
/// `rootkeeper` on loopback only.
///
/// ``shared()`` starts one cluster per test process (stopped at exit), or uses the server named
/// by `ROOTKEEPER_TEST_POSTGRES_URL` (`postgres://user@host:port/database`) when it is set. Missing
/// server binaries are an error with what to do, never a skipped test.
public final class PostgreSQLCluster: Sendable {
    public let host: String
    public let port: Int
    /// A superuser that may create databases.
    public let user: String
    /// The database to connect to for administration.
    public let adminDatabase: String
    /// The data directory, nil for an external server.
    public let dataDirectory: String?
    /// The directory holding the cluster (data, log, socket), nil for an external server.
    public let directory: String?
    let binDirectory: String?

    init(host: String, port: Int, user: String, adminDatabase: String, dataDirectory: String?, directory: String?, binDirectory: String?) {
        self.host = host
        self.port = port
        self.user = user
        self.adminDatabase = adminDatabase
        self.dataDirectory = dataDirectory
        self.directory = directory
        self.binDirectory = binDirectory
    }

    private static let sharedCluster: Result<PostgreSQLCluster, TestFailure> = {
        if let url = ProcessInfo.processInfo.environment["ROOTKEEPER_TEST_POSTGRES_URL"], !url.isEmpty {
            return Result { try external(url) }.mapError { $0 as? TestFailure ?? TestFailure("\($0)") }
        }
        do {
            let cluster = try start()
            atexit { PostgreSQLCluster.stopSharedAtExit() }
            return .success(cluster)
        } catch {
            return .failure(error as? TestFailure ?? TestFailure("cannot start a test PostgreSQL cluster: \(error)"))
        }
    }()

    private static func stopSharedAtExit() {
        if case .success(let cluster) = sharedCluster, cluster.directory != nil { cluster.stop(mode: "fast", remove: true) }
    }

    /// The one cluster of this test process (started on first use).
    public static func shared() throws -> PostgreSQLCluster { try sharedCluster.get() }

    /// The newest installed server binaries (`/usr/lib/postgresql/<version>/bin`, as Debian lays them out).
    public static func binDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .filter { FileManager.default.isExecutableFile(atPath: "\(root)/\($0)/bin/initdb") }
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        guard let version = versions.last else {
            throw TestFailure(
                """
                PostgreSQL server binaries (initdb, pg_ctl) are not installed under \(root)/<version>/bin: the PostgreSQL \
                store tests need a real server. Install them with scripts/install-deps.sh (package postgresql), or set \
                ROOTKEEPER_TEST_POSTGRES_URL=postgres://user@host:port/database to use a running server
                """)
        }
        return "\(root)/\(version)/bin"
    }

    static func external(_ text: String) throws -> PostgreSQLCluster {
        guard let url = URL(string: text), url.scheme == "postgres" || url.scheme == "postgresql", let host = url.host else {
            throw TestFailure("ROOTKEEPER_TEST_POSTGRES_URL \(text) is not postgres://user@host:port/database")
        }
        let database = url.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        return PostgreSQLCluster(
            host: host, port: url.port ?? 5432, user: url.user ?? "postgres",
            adminDatabase: database.isEmpty ? "postgres" : database, dataDirectory: nil, directory: nil,
            binDirectory: try? binDirectory())
    }

    /// Arguments that run `tool` as the `postgres` user when this process is root.
    static func asServerUser(_ tool: String) -> [String] {
        getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--", tool] : [tool]
    }

    /// A free TCP port on 127.0.0.1 (bound and released; the server binds it right after).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw TestFailure("bind: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts a new cluster (initdb + pg_ctl start) in a new temporary directory. `configure`
    /// lines are appended to postgresql.conf before the start (replication settings, for example).
    public static func start(configure: [String] = [], hba: [String] = []) throws -> PostgreSQLCluster {
        let bin = try binDirectory()
        let directory = try TemporaryDirectory("rootkeeper-pg")
        let data = directory.file("data")
        if getuid() == 0 {
            _ = chmod(directory.path, 0o700)
            guard chown(directory.path, Self.postgresUID(), Self.postgresGID()) == 0 else {
                throw TestFailure("cannot give \(directory.path) to the postgres user: \(String(cString: strerror(errno)))")
            }
        }
        let initdb = try ExternalTool(asServerUser("\(bin)/initdb")[0]).run(
            Array(asServerUser("\(bin)/initdb").dropFirst()) + ["-D", data, "-U", "rootkeeper", "--auth=trust", "--no-sync"], timeout: 120)
        guard initdb.succeeded else { throw TestFailure("initdb failed: \(initdb.output)") }
        var settings = [
            "listen_addresses = '127.0.0.1'", "unix_socket_directories = '\(directory.path)'", "fsync = on",
            "max_connections = 200",
        ]
        settings += configure
        let conf = data + "/postgresql.conf"
        try appendLines(settings, to: conf)
        if !hba.isEmpty { try appendLines(hba, to: data + "/pg_hba.conf") }
        let port = try freePort()
        let cluster = PostgreSQLCluster(
            host: "127.0.0.1", port: port, user: "rootkeeper", adminDatabase: "postgres",
            dataDirectory: data, directory: directory.path, binDirectory: bin)
        try cluster.startServer()
        try cluster.stopWhenProcessExits()
        return cluster
    }

    /// A watchdog shell that stops the cluster (immediate) and removes its directory once this
    /// test process is gone — also when it is killed and `atexit` never runs.
    func stopWhenProcessExits() throws {
        guard let bin = binDirectory, let data = dataDirectory, let directory else { return }
        let stop = (Self.asServerUser("\(bin)/pg_ctl") + ["-D", data, "-m", "immediate", "stop"]).joined(separator: " ")
        let script = "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(stop) >/dev/null 2>&1; rm -rf '\(directory)'"
        _ = try ExternalTool("sh").start(["-c", script])
    }

    /// A streaming-replication standby of `primary` (`pg_basebackup -R`: it follows the primary
    /// until ``promote()``), in its own temporary directory on its own port.
    /// `configure` lines are appended to the copied postgresql.conf (e.g. to clear the primary's
    /// `synchronous_standby_names`, which would stall every commit once this standby is promoted
    /// with no standby of its own).
    public static func standby(of primary: PostgreSQLCluster, configure: [String] = []) throws -> PostgreSQLCluster {
        let bin = try binDirectory()
        let directory = try TemporaryDirectory("rootkeeper-pg-standby")
        let data = directory.file("data")
        if getuid() == 0 {
            _ = chmod(directory.path, 0o700)
            guard chown(directory.path, Self.postgresUID(), Self.postgresGID()) == 0 else {
                throw TestFailure("cannot give \(directory.path) to the postgres user")
            }
        }
        let command = asServerUser("\(bin)/pg_basebackup")
        let backup = try ExternalTool(command[0]).run(
            Array(command.dropFirst()) + [
                "-h", primary.host, "-p", "\(primary.port)", "-U", primary.user, "-D", data, "-R", "-X", "stream",
                "--checkpoint=fast",
            ], timeout: 180)
        guard backup.succeeded else { throw TestFailure("pg_basebackup failed: \(backup.output)") }
        try appendLines(["unix_socket_directories = '\(directory.path)'", "hot_standby = on"] + configure, to: data + "/postgresql.conf")
        let standby = PostgreSQLCluster(
            host: "127.0.0.1", port: try freePort(), user: primary.user, adminDatabase: "postgres",
            dataDirectory: data, directory: directory.path, binDirectory: bin)
        try standby.startServer()
        try standby.stopWhenProcessExits()
        return standby
    }

    /// SIGKILL to the postmaster (a crash: no shutdown checkpoint, connections cut), then waits
    /// until its port is closed. The data directory stays for a later ``startServer()``.
    public func kill9() throws {
        guard let data = dataDirectory else { return }
        let pidText = try String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8)
        guard let pid = pidText.split(separator: "\n").first.flatMap({ pid_t($0.trimmingCharacters(in: .whitespaces)) }) else {
            throw TestFailure("no postmaster pid in \(data)/postmaster.pid")
        }
        guard kill(pid, SIGKILL) == 0 else { throw TestFailure("kill -9 \(pid): \(String(cString: strerror(errno)))") }
        for _ in 0..<100 where kill(pid, 0) == 0 { usleep(50_000) }
        // Its backends notice the postmaster's death and exit on their own (PostgreSQL watches for it).
    }

    /// `pg_ctl promote`: a standby becomes a writable primary.
    public func promote() throws {
        guard let bin = binDirectory, let data = dataDirectory else { return }
        let command = Self.asServerUser("\(bin)/pg_ctl")
        let result = try ExternalTool(command[0]).run(Array(command.dropFirst()) + ["-D", data, "-w", "promote"], timeout: 60)
        guard result.succeeded else { throw TestFailure("pg_ctl promote failed: \(result.output)") }
    }

    static func appendLines(_ lines: [String], to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(("\n" + lines.joined(separator: "\n") + "\n").utf8))
    }

    static func postgresUID() -> uid_t { SystemAccount.named("postgres")?.uid ?? 0 }
    static func postgresGID() -> gid_t { SystemAccount.named("postgres")?.gid ?? 0 }

    /// `pg_ctl start` on this cluster's data directory and port (again after a stop).
    public func startServer() throws {
        guard let bin = binDirectory, let data = dataDirectory, let directory else { return }
        let command = Self.asServerUser("\(bin)/pg_ctl")
        let result = try ExternalTool(command[0]).run(
            Array(command.dropFirst()) + ["-D", data, "-l", directory + "/log", "-w", "-t", "60", "-o", "-p \(port)", "start"], timeout: 90)
        guard result.succeeded else {
            let log = (try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? ""
            throw TestFailure("pg_ctl start failed: \(result.output)\n\(log.suffix(2000))")
        }
    }

    /// `pg_ctl stop` with `mode` (smart, fast, immediate — immediate is a crash); `remove` deletes the directory.
    public func stop(mode: String = "fast", remove: Bool = false) {
        guard let bin = binDirectory, let data = dataDirectory, let directory else { return }
        let command = Self.asServerUser("\(bin)/pg_ctl")
        _ = try? ExternalTool(command[0]).run(Array(command.dropFirst()) + ["-D", data, "-m", mode, "-w", "stop"], timeout: 60)
        if remove { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Runs `sql` with psql against `database` (the admin database when nil) and returns its
    /// unaligned, tuples-only output.
    @discardableResult
    public func psql(_ sql: String, database: String? = nil) throws -> String {
        let tool = try binDirectory.map { try ExternalTool("\($0)/psql") } ?? ExternalTool("psql")
        let result = try tool.run(
            [
                "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", "\(port)", "-U", user,
                "-d", database ?? adminDatabase, "-c", sql,
            ], timeout: 120)
        guard result.succeeded else { throw TestFailure("psql failed on \(sql.prefix(200)): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `pg_dump` of `database` (plain SQL, data and schema): an independent reader of everything stored.
    public func dump(database: String) throws -> String {
        let tool = try binDirectory.map { try ExternalTool("\($0)/pg_dump") } ?? ExternalTool("pg_dump")
        let result = try tool.run(["-h", host, "-p", "\(port)", "-U", user, "-d", database], timeout: 120)
        guard result.succeeded else { throw TestFailure("pg_dump failed: \(result.stderr)") }
        return result.stdout
    }

    /// Creates an empty database with a fresh name and returns the name.
    public func createDatabase(prefix: String = "rk_test") throws -> String {
        let name = "\(prefix)_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        try psql("CREATE DATABASE \(name)")
        return name
    }

    /// Drops a database made by ``createDatabase(prefix:)`` (connections to it are ended).
    public func dropDatabase(_ name: String) {
        _ = try? psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}
