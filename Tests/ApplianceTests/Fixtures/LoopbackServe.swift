import Foundation
import TestSupport

/// The one way tests run the real `appliance serve` binary: a configuration on 127.0.0.1 with
/// port 0 for both listeners (the OS chooses; `serve` reports the ports it bound and they are read
/// back, so no port is guessed in advance and raced for), as `nobody` when the tests run as root
/// (which then owns the state), and a bounded wait until `/health` answers.
enum LoopbackServe {
    /// A running `serve` and the ports it reported.
    struct Started {
        let process: ExternalTool.Running
        let https: Int
        let http: Int
    }

    /// Writes the configuration to `path` (0644): `state_directory`, both listeners on loopback
    /// port 0, `user: nobody` as root, then `extra` (YAML lines, e.g. `pkcs11:` or `ca:` blocks).
    /// As root, `chown -R nobody:` each of `ownedByService` (the state, a token directory).
    static func writeConfiguration(to path: String, state: String, extra: String = "", ownedByService: [String] = []) throws {
        try """
        state_directory: \(state)
        https:
          address: 127.0.0.1
          port: 0
        http:
          address: 127.0.0.1
          port: 0
        \(geteuid() == 0 ? "user: nobody" : "")
        \(extra)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        guard geteuid() == 0 else { return }
        for owned in [state] + ownedByService {
            let chown = try ExternalTool("chown").run(["-R", "nobody:", owned])
            guard chown.succeeded else { throw TestFailure("chown \(owned): \(chown.output)") }
        }
    }

    /// Starts `appliance serve --state-dir STATE --config CONFIG SECRET…` (the state directory in
    /// argv lets `ProcessReaper` find the server by it; `secret`: `--passphrase-file F` or
    /// `--pin-source file:F`), reads back its ports and waits until `/health` answers 200
    /// (`requireHealthy: false`: any answer) and, if `adminSocket` is given, until it exists.
    static func start(
        state: String, config: String, secret: [String], environment: [String: String] = [:], requireHealthy: Bool = true, adminSocket: String? = nil
    ) throws -> Started {
        let process = try ProductBinary.tool("appliance").start(
            ["serve", "--state-dir", state, "--config", config] + secret, environment: environment)
        guard let ports = process.listeningPorts() else {
            let output = process.output
            process.stop(signal: SIGTERM)
            throw TestFailure("appliance serve did not report its ports:\n\(output)")
        }
        let curl = try ExternalTool("curl")
        for _ in 0..<300 {
            let health = try curl.run(["-sS", "-o", "/dev/null", "--max-time", "2", "-w", "%{http_code}", "http://127.0.0.1:\(ports.http)/health"])
            let answered = requireHealthy ? health.stdout == "200" : health.succeeded
            if answered, adminSocket.map({ FileManager.default.fileExists(atPath: $0) }) ?? true {
                return Started(process: process, https: ports.https, http: ports.http)
            }
            guard process.isRunning else { break }
            usleep(100_000)
        }
        let output = process.output
        process.stop(signal: SIGTERM)
        throw TestFailure("appliance serve did not become healthy:\n\(output)")
    }
}
