import Crypto
import Foundation
import PKICore
import X509

/// `appliance demo`: a complete local PKI in one command (issue 6, README's first command).
///
/// It drives the real executables exactly as the runbooks do — a root ceremony on a fresh SoftHSM
/// token, `appliance init`, the intermediate ceremony, `intermediate install`, `serve` on loopback,
/// two agents (one approved by the administrator, one with a one-time token), a renewal and a
/// revocation — and leaves everything under the demo directory: `media/`, `state/`, `agents/<name>/`.
/// Demo secrets (token PIN, key passphrase) are random and kept in `secrets/` (0600 files in a
/// 0700 directory); they never appear in an argument list of ours or in the output.
public struct DemoRunner: Sendable {
    public let directory: String
    public let binDirectory: String
    public let log: @Sendable (String) -> Void

    public init(directory: String, binDirectory: String, log: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.directory = directory
        self.binDirectory = binDirectory
        self.log = log
    }

    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// Builds the PKI and starts the appliance; returns the running `appliance serve` process.
    public func run() throws -> Process {
        guard !FileManager.default.fileExists(atPath: directory) else {
            throw DemoShell.Failure(description: "\(directory) already exists; the demo never overwrites")
        }
        if geteuid() == 0 {
            // As root, `serve` drops to `nobody`: every directory above the demo must let it through.
            var ancestor = (directory as NSString).deletingLastPathComponent
            while ancestor != "/" && !ancestor.isEmpty {
                var info = stat()
                if stat(ancestor, &info) == 0, info.st_mode & 0o001 == 0 {
                    throw DemoShell.Failure(description: "\(ancestor) is not searchable by others (mode \(String(info.st_mode & 0o777, radix: 8))); the demo's appliance runs as nobody — choose a directory under /tmp")
                }
                ancestor = (ancestor as NSString).deletingLastPathComponent
            }
        }
        for (name, mode) in [("", 0o755), ("secrets", 0o700), ("softhsm", 0o700), ("softhsm/tokens", 0o700), ("media", 0o755), ("agents", 0o700), ("plans", 0o755)] {
            try FileManager.default.createDirectory(atPath: path(name), withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
        }
        let pin = Self.randomSecret(), soPIN = Self.randomSecret(), passphrase = Self.randomSecret()
        try writeSecret(pin, to: "secrets/token.pin")
        try writeSecret(passphrase, to: "secrets/intermediate.passphrase")
        try "directories.tokendir = \(path("softhsm/tokens"))\nobjectstore.backend = file\nlog.level = ERROR\n"
            .write(toFile: path("softhsm/softhsm2.conf"), atomically: true, encoding: .utf8)
        let shell = DemoShell(binDirectory: binDirectory, environment: ["SOFTHSM2_CONF": path("softhsm/softhsm2.conf")], log: log)

        section("1. Root ceremony on a SoftHSM token (rehearsal: this machine is online)")
        // softhsm2-util takes PINs only as arguments; this throwaway demo token is the one place we accept it.
        _ = try shell.run(
            "softhsm2-util", ["--init-token", "--free", "--label", "demo-root", "--pin", pin, "--so-pin", soPIN], quiet: true,
            shown: "softhsm2-util --init-token --free --label demo-root --pin <from secrets/token.pin> --so-pin <random>")
        log("  SoftHSM token \"demo-root\" initialised in \(path("softhsm"))")
        try """
            module: /usr/lib/softhsm/libsofthsm2.so
            token: demo-root
            pin-source: file:\(path("secrets/token.pin"))
            operator: Demo Officer
            rehearsal: true

            """.write(toFile: path("plans/env.yaml"), atomically: true, encoding: .utf8)
        try shell.run("ceremony", ["template", "root", "--rehearsal"], quiet: true)
            .write(toFile: path("plans/root.yaml"), atomically: true, encoding: .utf8)
        try shell.run("ceremony", ["run", path("plans/root.yaml"), "--media", path("media"), "--env", path("plans/env.yaml")], stdin: "yes\n")

        section("2. Appliance: state directory, intermediate key (encrypted file) and CSR bundle")
        let ports = try (Self.freePort(), Self.freePort())
        try """
            state_directory: \(path("state"))
            https:
              address: 127.0.0.1
              port: \(ports.0)
            http:
              address: 127.0.0.1
              port: \(ports.1)
            enrollment:
              retry_after_seconds: 1
            ca:
              # The demo opens the renewal window at once so step 7 can show a renewal (default: 30 days).
              renew_before_days: 90
            \(geteuid() == 0 ? "user: nobody" : "")

            """.write(toFile: path("appliance.yaml"), atomically: true, encoding: .utf8)
        let passphraseFile = path("secrets/intermediate.passphrase")
        try shell.run("appliance", ["init", "--state-dir", path("state"), "--config", path("appliance.yaml"), "--media", path("media"), "--passphrase-file", passphraseFile])

        section("3. Intermediate ceremony: the root signs the appliance's CSR")
        let csrSPKI = try Self.csrSPKI(bundle: path("media/intermediate-csr/intermediate.csr"))
        try shell.run("ceremony", ["template", "intermediate", "--rehearsal", "--media", path("media")], quiet: true)
            .write(toFile: path("plans/intermediate.yaml"), atomically: true, encoding: .utf8)
        try shell.run("ceremony", ["run", path("plans/intermediate.yaml"), "--media", path("media"), "--env", path("plans/env.yaml"), "--yes-i-have-checked", csrSPKI], stdin: "yes\n")
        try shell.run("ceremony", ["template", "crl", "--rehearsal", "--media", path("media")], quiet: true)
            .write(toFile: path("plans/crl.yaml"), atomically: true, encoding: .utf8)
        try shell.run("ceremony", ["run", path("plans/crl.yaml"), "--media", path("media"), "--env", path("plans/env.yaml")], stdin: "yes\n")

        section("4. Install the intermediate and the root CRL, then serve on loopback")
        let rootDER = try Data(contentsOf: URL(fileURLWithPath: path("media/root/root-ca.der")))
        let rootFingerprint = Array(SHA256.hash(data: rootDER)).hexString
        try shell.run("appliance", ["intermediate", "install", "--state-dir", path("state"), "--from", path("media/intermediate-cert"), "--root-fingerprint", rootFingerprint])
        try shell.run("appliance", ["crl", "install-root", "--state-dir", path("state"), "--from", path("media/crl")])
        if geteuid() == 0 {
            // `serve` refuses to run as root: it drops to `nobody`, which must own the state.
            try Self.chownRecursively(path("state"), to: "nobody")
            log("$ chown -R nobody: \(path("state"))")
        }
        log("$ appliance serve --state-dir \(path("state")) --config \(path("appliance.yaml")) --passphrase-file \(passphraseFile) &")
        let server = try shell.start("appliance", ["serve", "--state-dir", path("state"), "--config", path("appliance.yaml"), "--passphrase-file", passphraseFile])
        try waitForListener(port: ports.0, process: server)
        // Agents pin the root key: unlike an intermediate pin, it survives intermediate renewals.
        let root = try PEMCodec.certificates(fromPEM: String(contentsOfFile: path("state/ca/root-ca.crt"), encoding: .utf8))[0]
        let pinText = root.publicKey.spkiPin
        let url = "https://127.0.0.1:\(ports.0)"

        section("5. Agent web-01 enrols without a token: pending until an administrator approves")
        let agentDir = path("agents/web-01")
        log("$ agent enroll --server \(url) --pin \(pinText) --hostname web-01 --out \(agentDir) &")
        let pending = try shell.start("agent", ["enroll", "--server", url, "--pin", pinText, "--hostname", "web-01", "--out", agentDir])
        let registration = try waitForPending(shell: shell, hostname: "web-01")
        try shell.run("appliance", ["agents", "approve", registration, "--state-dir", path("state")])
        pending.waitUntilExit()
        guard pending.terminationStatus == 0 else { throw DemoShell.Failure(description: "agent web-01 did not enrol") }
        log("  agent web-01 enrolled: \(agentDir)/agent.crt")

        section("6. Agent db-01 enrols at once with a one-time token")
        let tokenOutput = try shell.run("appliance", ["agents", "token", "--hostname", "db-01", "--state-dir", path("state")], quiet: true)
        let token = tokenOutput.split(whereSeparator: \.isWhitespace).last.map(String.init) ?? ""
        log("  (one-time token created; printed by `appliance agents token`)")
        try shell.run(
            "agent", ["enroll", "--server", url, "--pin", pinText, "--hostname", "db-01", "--token", token, "--out", path("agents/db-01")],
            shown: "agent enroll --server \(url) --pin \(pinText) --hostname db-01 --token <one-time token> --out \(path("agents/db-01"))")

        section("7. Renewal over mutual TLS, then revocation")
        try shell.run("agent", ["renew", "--out", path("agents/db-01"), "--force"])
        let agents = try shell.run("appliance", ["agents", "list", "--state-dir", path("state")])
        if let web = agents.split(separator: "\n").first(where: { $0.contains("web-01") }), let id = web.split(separator: " ").first {
            try shell.run("appliance", ["agents", "revoke", String(id), "--state-dir", path("state")])
        }
        try shell.run("appliance", ["certs", "list", "--state-dir", path("state")])

        section("Done. Everything is under \(directory)")
        log("""
              media/            ceremony media: root/, intermediate-csr/, intermediate-cert/, crl/, transcript.jsonl
              state/            appliance state (ca/, server/, crl/, db/rootkeeper.sqlite, audit/)
              agents/<name>/    agent.crt, agent.key (0600), ca-chain.crt
              secrets/          the demo token PIN and key passphrase (0600)
            Try:
              curl --cacert \(path("state/ca/ca-chain.crt")) --cert \(path("agents/db-01/agent.crt")) --key \(path("agents/db-01/agent.key")) \(url)/api/v1/agent/status
              openssl crl -inform DER -in \(path("state/crl/intermediate.crl")) -noout -text
              curl http://127.0.0.1:\(ports.1)/metrics
              ceremony verify-transcript \(path("media"))
            The appliance keeps serving; press Ctrl-C to stop.
            """)
        return server
    }

    static func chownRecursively(_ root: String, to user: String) throws {
        guard let account = getpwnam(user) else { throw DemoShell.Failure(description: "no user \(user)") }
        let (uid, gid) = (account.pointee.pw_uid, account.pointee.pw_gid)
        var paths = [root]
        if let enumerator = FileManager.default.enumerator(atPath: root) {
            for case let relative as String in enumerator { paths.append((root as NSString).appendingPathComponent(relative)) }
        }
        for path in paths where lchown(path, uid, gid) != 0 {
            throw DemoShell.Failure(description: "chown \(path) failed: \(String(cString: strerror(errno)))")
        }
    }

    func section(_ title: String) {
        log("")
        log("== \(title)")
    }

    func writeSecret(_ secret: String, to name: String) throws {
        FileManager.default.createFile(atPath: path(name), contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600])
    }

    static func randomSecret() -> String {
        SystemRandomSource().bytes(12).map { String(format: "%02x", $0) }.joined()
    }

    static func csrSPKI(bundle: String) throws -> String {
        try CSRDecoder.decode(Array(try Data(contentsOf: URL(fileURLWithPath: bundle)))).publicKey.spkiSHA256Hex
    }

    /// A TCP port that is free on 127.0.0.1 now (bound to port 0, read back, released), for
    /// configuring a server that takes its ports from a file (the demo; tests of `serve`).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DemoShell.Failure(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw DemoShell.Failure(description: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func waitForListener(port: Int, process: Process) throws {
        for _ in 0..<300 {
            guard process.isRunning else {
                let output = (process.standardOutput as? Pipe)?.fileHandleForReading.availableData ?? Data()
                throw DemoShell.Failure(description: "appliance serve stopped: \(String(decoding: output, as: UTF8.self))")
            }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(fd)
            if connected { return }
            usleep(100_000)
        }
        throw DemoShell.Failure(description: "appliance serve did not listen on 127.0.0.1:\(port) within 30 s")
    }

    func waitForPending(shell: DemoShell, hostname: String) throws -> String {
        for _ in 0..<100 {
            let list = try shell.run("appliance", ["agents", "list", "--state-dir", path("state")], quiet: true, echo: false)
            if let line = list.split(separator: "\n").first(where: { $0.contains(hostname) && $0.contains("pending") }),
               let id = line.split(separator: " ").first {
                log("$ appliance agents list --state-dir \(path("state"))")
                log("  \(line)")
                return String(id)
            }
            usleep(200_000)
        }
        throw DemoShell.Failure(description: "no pending registration for \(hostname) appeared")
    }
}
