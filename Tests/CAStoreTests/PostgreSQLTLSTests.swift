import CAStore
import Foundation
import Registration
import TestSupport
import Testing

/// `store.tls_ca` (docs/configuration.md#store) against a real TLS-enabled PostgreSQL whose server
/// certificate comes from a test CA made with openssl at run time: with the right CA the store
/// connects over TLS (pg_stat_ssl, read with psql, says so); a server certificate from another CA,
/// or one that does not name the host connected to (libpq's `verify-full`), is refused with a
/// reason that says which. psql with `sslmode=verify-full` checks the server set-up independently.
@Suite("PostgreSQL store: TLS with a pinned CA, verify-full", .serialized)
struct PostgreSQLTLSTests {
    /// A CA, a server certificate for the name `localhost` only (no IP address), and an unrelated CA, made by openssl.
    struct Material {
        let directory: TemporaryDirectory
        var ca: String { directory.file("ca.crt") }
        var otherCA: String { directory.file("other-ca.crt") }
        var serverCertificate: String { directory.file("server.crt") }
        var serverKey: String { directory.file("server.key") }
    }

    static func material() throws -> Material {
        let directory = try TemporaryDirectory("rootkeeper-pg-tls")
        let openssl = try ExternalTool("openssl")
        func run(_ arguments: [String]) throws {
            let result = try openssl.run(arguments)
            guard result.succeeded else { throw TestFailure("openssl \(arguments.prefix(2).joined(separator: " ")): \(result.output)") }
        }
        for (name, subject) in [("ca", "/CN=Rootkeeper test PostgreSQL CA"), ("other-ca", "/CN=Some other CA")] {
            try run([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", directory.file("\(name).key"),
                "-out", directory.file("\(name).crt"), "-subj", subject, "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        }
        try run([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", directory.file("server.key"),
            "-out", directory.file("server.csr"), "-subj", "/CN=rootkeeper-test-postgres",
        ])
        try "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n"
            .write(toFile: directory.file("server.ext"), atomically: true, encoding: .utf8)
        try run([
            "x509", "-req", "-in", directory.file("server.csr"), "-CA", directory.file("ca.crt"), "-CAkey", directory.file("ca.key"),
            "-CAcreateserial", "-out", directory.file("server.crt"), "-days", "2", "-extfile", directory.file("server.ext"),
        ])
        // The server reads its key as the postgres user and refuses a key others may read.
        chmod(directory.file("server.key"), 0o600)
        chmod(directory.path, 0o755)
        if geteuid() == 0 {
            let chown = try ExternalTool("chown").run(["postgres:", directory.file("server.key"), directory.file("server.crt")])
            guard chown.succeeded else { throw TestFailure("chown: \(chown.output)") }
        }
        return Material(directory: directory)
    }

    static func configuration(_ cluster: PostgreSQLCluster, database: String, host: String, ca: String) -> PostgreSQLStore.Configuration {
        PostgreSQLStore.Configuration(
            hosts: [.init(host: host, port: cluster.port)], database: database, user: cluster.user, tlsCAFile: ca,
            maximumConnections: 2, connectTimeout: 5)
    }

    /// psql with libpq's own verify-full against `host`.
    static func psqlVerifyFull(_ cluster: PostgreSQLCluster, host: String, ca: String) throws -> ExternalTool.Result {
        let tool = try ExternalTool(try PostgreSQLCluster.binDirectory() + "/psql")
        return try tool.run([
            "-X", "-A", "-t", "-c", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            "host=\(host) port=\(cluster.port) user=\(cluster.user) dbname=postgres sslmode=verify-full sslrootcert=\(ca)",
        ])
    }

    @Test(
        "the right CA connects over TLS; a certificate from another CA and a host name the certificate does not name are refused, each with its reason"
    )
    func verifyFull() async throws {
        let material = try Self.material()
        let cluster = try PostgreSQLCluster.start(configure: [
            "ssl = on", "ssl_cert_file = '\(material.serverCertificate)'", "ssl_key_file = '\(material.serverKey)'",
        ])
        defer { cluster.stop(mode: "immediate", remove: true) }
        let database = try cluster.createDatabase(prefix: "tls")

        // Independent check of the set-up: libpq verify-full accepts localhost and refuses 127.0.0.1.
        let libpq = try Self.psqlVerifyFull(cluster, host: "localhost", ca: material.ca)
        #expect(libpq.succeeded && libpq.stdout.contains("t"), "\(libpq.output)")
        #expect(!(try Self.psqlVerifyFull(cluster, host: "127.0.0.1", ca: material.ca)).succeeded)

        // The right CA: connected over TLS, and it works.
        let store = try await PostgreSQLStore(configuration: Self.configuration(cluster, database: database, host: "localhost", ca: material.ca))
        defer { store.close() }
        try await store.insertToken(Sample.token("over-tls"))
        #expect(try await store.token(sha256: EnrollmentToken.digest(of: "over-tls")) != nil)
        let connections = try cluster.psql(
            "SELECT count(*) FILTER (WHERE s.ssl) || '/' || count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = '\(database)'"
        )
        let parts = connections.split(separator: "/")
        #expect(parts.count == 2 && parts[0] == parts[1] && parts[0] != "0", "TLS connections of the store / all: \(connections)")

        // Another CA signed nothing this server presents: refused, and the reason says so.
        let wrongCA = await storeError {
            _ = try await PostgreSQLStore(configuration: Self.configuration(cluster, database: database, host: "localhost", ca: material.otherCA))
        }
        #expect(wrongCA?.code == .unavailable)
        #expect(wrongCA?.reason.contains("not signed by the CA in store.tls_ca") == true, "\(wrongCA?.reason ?? "no error")")

        // The right CA but a host the certificate does not name (verify-full checks names): the
        // same server reached as 127.0.0.1, which the certificate does not carry.
        let wrongHost = await storeError {
            _ = try await PostgreSQLStore(configuration: Self.configuration(cluster, database: database, host: "127.0.0.1", ca: material.ca))
        }
        #expect(wrongHost?.code == .unavailable)
        #expect(wrongHost?.reason.contains("does not name the host") == true, "\(wrongHost?.reason ?? "no error")")
    }
}
