import Crypto
import Foundation
import PKICore
import SecureFiles
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
                    throw DemoShell.Failure(
                        description:
                            "\(ancestor) is not searchable by others (mode \(String(info.st_mode & 0o777, radix: 8))); the demo's appliance runs as nobody — choose a directory under /tmp"
                    )
                }
                ancestor = (ancestor as NSString).deletingLastPathComponent
            }
        }
        for (name, mode) in [
            ("", 0o755), ("secrets", 0o700), ("softhsm", 0o700), ("softhsm/tokens", 0o700), ("media", 0o755), ("agents", 0o700), ("plans", 0o755),
        ] {
            try FileManager.default.createDirectory(atPath: path(name), withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
        }
        let pin = Self.randomSecret()
        let soPIN = Self.randomSecret()
        let passphrase = Self.randomSecret()
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
        // Each later ceremony starts with the officer typing the transcript head the last one
        // announced (the paper log); the demo carries it from one run's output to the next.
        var paperLog = Self.transcriptHeadWords(
            in: try shell.run(
                "ceremony", ["run", path("plans/root.yaml"), "--media", path("media"), "--env", path("plans/env.yaml")], stdin: "yes\n"))

        section("2. Appliance: state directory, intermediate key (encrypted file) and CSR bundle")
        try """
        state_directory: \(path("state"))
        https:
          address: 127.0.0.1
          port: 0
        http:
          address: 127.0.0.1
          port: 0
        enrollment:
          retry_after_seconds: 1
        console:
          enabled: true
          address: 127.0.0.1
          port: 0
        ca:
          # The demo opens the renewal window at once so step 7 can show a renewal (default: 30 days).
          renew_before_days: 90
        \(geteuid() == 0 ? "user: nobody" : "")

        """.write(toFile: path("appliance.yaml"), atomically: true, encoding: .utf8)
        let passphraseFile = path("secrets/intermediate.passphrase")
        try shell.run(
            "appliance",
            ["init", "--state-dir", path("state"), "--config", path("appliance.yaml"), "--media", path("media"), "--passphrase-file", passphraseFile])

        section("3. Intermediate ceremony: the root signs the appliance's CSR")
        let csrSPKI = try Self.csrSPKI(bundle: path("media/intermediate-csr/intermediate.csr"))
        try shell.run("ceremony", ["template", "intermediate", "--rehearsal", "--media", path("media")], quiet: true)
            .write(toFile: path("plans/intermediate.yaml"), atomically: true, encoding: .utf8)
        paperLog = Self.transcriptHeadWords(
            in: try shell.run(
                "ceremony",
                ["run", path("plans/intermediate.yaml"), "--media", path("media"), "--env", path("plans/env.yaml"), "--yes-i-have-checked", csrSPKI],
                stdin: "yes\n\(paperLog)\n"))
        try shell.run("ceremony", ["template", "crl", "--rehearsal", "--media", path("media")], quiet: true)
            .write(toFile: path("plans/crl.yaml"), atomically: true, encoding: .utf8)
        try shell.run(
            "ceremony", ["run", path("plans/crl.yaml"), "--media", path("media"), "--env", path("plans/env.yaml")], stdin: "yes\n\(paperLog)\n")

        section("4. Install the intermediate and the root CRL, then serve on loopback")
        let rootDER = try Data(contentsOf: URL(fileURLWithPath: path("media/root/root-ca.der")))
        let rootFingerprint = Array(SHA256.hash(data: rootDER)).hexString
        try shell.run(
            "appliance",
            [
                "intermediate", "install", "--state-dir", path("state"), "--from", path("media/intermediate-cert"), "--root-fingerprint",
                rootFingerprint,
            ])
        try shell.run("appliance", ["crl", "install-root", "--state-dir", path("state"), "--from", path("media/crl")])
        if geteuid() == 0 {
            // `serve` refuses to run as root: it drops to `nobody`, which must own the state.
            try Self.chownRecursively(path("state"), to: "nobody")
            log("$ chown -R nobody: \(path("state"))")
        }
        log("$ appliance serve --state-dir \(path("state")) --config \(path("appliance.yaml")) --passphrase-file \(passphraseFile) &")
        // serve's log goes to a file: a pipe nobody reads would fill up and stall the server.
        let server = try shell.start(
            "appliance", ["serve", "--state-dir", path("state"), "--config", path("appliance.yaml"), "--passphrase-file", passphraseFile],
            output: path("serve.log"))
        let ports = try waitForListening(log: path("serve.log"), process: server)
        log("  serving on https://127.0.0.1:\(ports.https) and http://127.0.0.1:\(ports.http) (ports chosen by the OS); log: \(path("serve.log"))")
        // Agents pin the root key: unlike an intermediate pin, it survives intermediate renewals.
        let root = try PEMCodec.certificates(fromPEM: String(contentsOfFile: path("state/ca/root-ca.crt"), encoding: .utf8))[0]
        let pinText = root.publicKey.spkiPin
        let url = "https://127.0.0.1:\(ports.https)"

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
        // The token reaches the agent through a 0600 file, never argv (where `ps` would show it).
        try writeSecret(token, to: "secrets/db-01.token")
        log("  (one-time token created by `appliance agents token`, kept in secrets/db-01.token, mode 0600)")
        try shell.run(
            "agent",
            [
                "enroll", "--server", url, "--pin", pinText, "--hostname", "db-01",
                "--token-file", path("secrets/db-01.token"), "--out", path("agents/db-01"),
            ])

        section("7. Renewal over mutual TLS, then revocation")
        try shell.run("agent", ["renew", "--out", path("agents/db-01"), "--force"])
        let agents = try shell.run("appliance", ["agents", "list", "--state-dir", path("state")])
        if let web = agents.split(separator: "\n").first(where: { $0.contains("web-01") }), let id = web.split(separator: " ").first {
            try shell.run("appliance", ["agents", "revoke", String(id), "--state-dir", path("state")])
        }
        try shell.run("appliance", ["certs", "list", "--state-dir", path("state")])

        section("8. An administrator for the web console (docs/console.md)")
        try shell.run("appliance", ["admins", "add", "demo", "--role", "admin", "--out", path("admins/demo"), "--state-dir", path("state")])
        let consoleURL = try waitForConsole(log: path("serve.log"), process: server)
        log(
            """
              console:              \(consoleURL)
              PKCS#12 to import:    \(path("admins/demo/admin-demo.p12"))
              its password (0600):  \(path("admins/demo/admin-demo.p12.password"))
              (import it into the browser's certificates with that password, then open the console;
               or: curl --cacert \(path("state/ca/ca-chain.crt")) --cert \(path("admins/demo/admin-demo.crt")) --key \(path("admins/demo/admin-demo.key")) \(consoleURL))
            """)

        section("Done. Everything is under \(directory)")
        log(
            """
              media/            ceremony media: root/, intermediate-csr/, intermediate-cert/, crl/, transcript.jsonl
              state/            appliance state (ca/, server/, crl/, db/rootkeeper.sqlite, audit/)
              agents/<name>/    agent.crt, agent.key (0600), ca-chain.crt
              secrets/          the demo token PIN, key passphrase and db-01's used enrolment token (0600)
              admins/demo/      the console administrator's certificate, key, PKCS#12 and its password file (0600)
            Try:
              curl --cacert \(path("state/ca/ca-chain.crt")) --cert \(path("agents/db-01/agent.crt")) --key \(path("agents/db-01/agent.key")) \(url)/api/v1/agent/status
              openssl crl -inform DER -in \(path("state/crl/intermediate.crl")) -noout -text
              curl http://127.0.0.1:\(ports.http)/metrics
              ceremony verify-transcript \(path("media"))
            The appliance keeps serving; press Ctrl-C to stop.
            """)
        return server
    }

    static func chownRecursively(_ root: String, to user: String) throws {
        guard let account = SystemAccount.named(user) else { throw DemoShell.Failure(description: "no user \(user)") }
        let (uid, gid) = (account.uid, account.gid)
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

    /// The PGP words of the transcript head a ceremony announced ("Transcript head (witnesses: …)",
    /// then the hex line, then the words line): what the witnesses write in the paper log.
    static func transcriptHeadWords(in output: String) -> String {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        guard let index = lines.firstIndex(where: { $0.hasPrefix("Transcript head (witnesses") }), index + 2 < lines.count else { return "" }
        return lines[index + 2].trimmingCharacters(in: .whitespaces)
    }

    static func csrSPKI(bundle: String) throws -> String {
        try CSRDecoder.decode(Array(try Data(contentsOf: URL(fileURLWithPath: bundle)))).publicKey.spkiSHA256Hex
    }

    /// Waits (bounded, 30 s) for `serve`'s "listening: https://HOST:PORT http://HOST:PORT" line in
    /// its log and returns the ports the OS chose.
    func waitForListening(log: String, process: Process) throws -> (https: Int, http: Int) {
        for _ in 0..<300 {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let match = text.firstMatch(of: /listening: https:\/\/\S+:(\d+) http:\/\/\S+:(\d+)/),
                let https = Int(match.1), let http = Int(match.2)
            {
                return (https, http)
            }
            guard process.isRunning else { throw DemoShell.Failure(description: "appliance serve stopped:\n\(text)") }
            usleep(100_000)
        }
        throw DemoShell.Failure(description: "appliance serve did not report listening within 30 s (see \(log))")
    }

    /// The console URL `serve` reports (`console: https://HOST:PORT/`), waiting up to 30 s.
    func waitForConsole(log: String, process: Process) throws -> String {
        for _ in 0..<300 {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let match = text.firstMatch(of: /console: (https:\/\/\S+)/) { return String(match.1) }
            guard process.isRunning else { throw DemoShell.Failure(description: "appliance serve stopped:\n\(text)") }
            usleep(100_000)
        }
        throw DemoShell.Failure(description: "appliance serve did not report the console within 30 s (see \(log))")
    }

    func waitForPending(shell: DemoShell, hostname: String) throws -> String {
        for _ in 0..<100 {
            let list = try shell.run("appliance", ["agents", "list", "--state-dir", path("state")], quiet: true, echo: false)
            if let line = list.split(separator: "\n").first(where: { $0.contains(hostname) && $0.contains("pending") }),
                let id = line.split(separator: " ").first
            {
                log("$ appliance agents list --state-dir \(path("state"))")
                log("  \(line)")
                return String(id)
            }
            usleep(200_000)
        }
        throw DemoShell.Failure(description: "no pending registration for \(hostname) appeared")
    }
}
