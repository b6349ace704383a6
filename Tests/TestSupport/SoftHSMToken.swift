import Foundation

/// A SoftHSM2 token initialised for one test in its own temporary directory, never the system
/// token store: `SOFTHSM2_CONF` points at a config file inside the directory.
///
/// Test-only: the PINs go to `softhsm2-util` in argv because that tool has no other way to take
/// them; the product itself never accepts a PIN in argv.
public struct SoftHSMToken: Sendable {
    public static let modulePath = "/usr/lib/softhsm/libsofthsm2.so"

    public let directory: TemporaryDirectory
    public let label: String
    public let userPIN: String
    public let soPIN: String
    /// Path of the softhsm2.conf written for this token.
    public let configPath: String
    /// The token's serial number as SoftHSM reports it.
    public let serial: String

    /// Environment to hand to any process (or to `setenv` in-process) that must see this token.
    public var environment: [String: String] { ["SOFTHSM2_CONF": configPath] }

    public init(label: String = "rootkeeper-test", userPIN: String = "1234", soPIN: String = "5678") throws {
        directory = try TemporaryDirectory("softhsm")
        self.label = label
        self.userPIN = userPIN
        self.soPIN = soPIN
        let tokens = directory.file("tokens")
        try FileManager.default.createDirectory(atPath: tokens, withIntermediateDirectories: true)
        configPath = directory.file("softhsm2.conf")
        try "directories.tokendir = \(tokens)\nobjectstore.backend = file\nlog.level = ERROR\n"
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        let util = try ExternalTool("softhsm2-util")
        let env = ["SOFTHSM2_CONF": configPath]
        let result = try util.run(
            ["--init-token", "--free", "--label", label, "--pin", userPIN, "--so-pin", soPIN], environment: env)
        guard result.succeeded else { throw TestFailure("softhsm2-util --init-token failed: \(result.output)") }
        let show = try util.run(["--show-slots"], environment: env)
        serial = Self.serial(ofLabel: label, in: show.stdout) ?? ""
    }

    /// Parses `softhsm2-util --show-slots` for the serial of the token with `label`.
    static func serial(ofLabel label: String, in listing: String) -> String? {
        var currentSerial: String?
        for line in listing.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("Serial number:") {
                currentSerial = trimmed.dropFirst("Serial number:".count).trimmingCharacters(in: .whitespaces)
            }
            if trimmed.hasPrefix("Label:"), trimmed.dropFirst("Label:".count).trimmingCharacters(in: .whitespaces) == label {
                return currentSerial
            }
        }
        return nil
    }

    public func remove() { directory.remove() }

}

extension SoftHSMToken {
    /// Creates a token, points this process's SoftHSM configuration at it, runs `body`, removes it.
    ///
    /// Serialised process-wide: SoftHSM reads its configuration once per `C_Initialize`, and
    /// PKCS#11 allows one initialisation per process, so two tests must never hold the module at
    /// the same time. `body` must release every object that keeps the module loaded (module,
    /// sessions, keys) before it returns, so the module is finalised and the next test's token is
    /// read afresh.
    ///
    /// The environment is not changed while tests run (`setenv` races every thread that reads the
    /// environment, and glibc's `getenv` is not safe against it): `scripts/test.sh` exports
    /// `SOFTHSM2_CONF` once, before the test process starts, naming a file of the run's own, and
    /// each test rewrites that file's contents to point at its token.
    public static func withExclusiveToken<R>(
        label: String = "rootkeeper-test", _ body: (SoftHSMToken) async throws -> R
    ) async throws -> R {
        await SoftHSMToken.processLock.acquire()
        defer { Task { await SoftHSMToken.processLock.release() } }
        let token = try SoftHSMToken(label: label)
        defer { token.remove() }
        let processConfig = try inProcessConfigPath()
        try Data(contentsOf: URL(fileURLWithPath: token.configPath)).write(to: URL(fileURLWithPath: processConfig), options: .atomic)
        return try await body(token)
    }

    static let processLock = AsyncLock()

    /// The SoftHSM configuration file this process's module reads. It must be a file of the test
    /// run's own (never the system's /etc/softhsm/softhsm2.conf, whose tokens are not ours).
    static func inProcessConfigPath() throws -> String {
        guard let path = ProcessInfo.processInfo.environment["SOFTHSM2_CONF"], path.hasSuffix("/rootkeeper-test-softhsm2.conf") else {
            throw TestFailure(
                "in-process SoftHSM tests need SOFTHSM2_CONF=<dir>/rootkeeper-test-softhsm2.conf exported before the test process "
                    + "starts; run them through scripts/test.sh (which does), or export it yourself")
        }
        return path
    }
}

/// A FIFO lock for async code, held across suspension points (unlike NSLock).
public actor AsyncLock {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init() {}

    public func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    public func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}
