import Foundation

/// A virtual smart-card reader for tests: pcscd with the vsmartcard `vpcd` driver, and a virtual
/// ISO 7816 card (`vicc`) that can be inserted and removed.
///
/// pcsc-lite 1.9.9's daemon always listens on /run/pcscd/pcscd.comm (it ignores
/// PCSCLITE_CSOCK_NAME), so there is one daemon per machine: a running pcscd is reused, otherwise
/// `pcscd -f` is started as this test's child and stopped by ``stop()``. Debian's
/// /etc/reader.conf.d/vpcd makes vpcd listen on 35963 (0x8C7B) and shows the readers
/// "Virtual PCD 00 00" and "Virtual PCD 00 01"; `vicc` connects to the first.
///
/// Debian's vicc imports `Crypto` (PyCrypto) but ships with pycryptodome's `Cryptodome`, so a
/// temporary directory with a `Crypto` → `Cryptodome` symlink goes first on PYTHONPATH. Needs the
/// apt packages pcscd, vsmartcard-vpcd, python3-virtualsmartcard and python3-pycryptodome.
public final class VirtualSmartCard: @unchecked Sendable {
    public static let readerName = "Virtual PCD 00 00"
    public static let emptyReaderName = "Virtual PCD 00 01"
    static let vpcdPort = 35963
    static let socketPath = "/run/pcscd/pcscd.comm"

    private let lock = NSLock()
    private var pcscd: Process?
    private var vicc: Process?
    private let shim: TemporaryDirectory

    /// Makes sure pcscd is running (starting it if needed). Does not insert a card.
    public init() throws {
        shim = try TemporaryDirectory("vicc-shim")
        try FileManager.default.createSymbolicLink(
            atPath: shim.file("Crypto"), withDestinationPath: "/usr/lib/python3/dist-packages/Cryptodome")
        if !Self.daemonIsRunning() {
            let daemon = try Self.spawn(try ExternalTool("pcscd").path, ["-f"], environment: nil)
            do {
                try Self.waitUntil(seconds: 10) { FileManager.default.fileExists(atPath: Self.socketPath) }
                // The vpcd reader is created from reader.conf at start-up; its driver listens on the
                // port vicc connects to once the reader exists. Wait for that (bounded), not a guess.
                try Self.waitUntil(seconds: 10, failure: "the vpcd reader did not listen on port \(Self.vpcdPort)") {
                    Self.isListening(port: Self.vpcdPort)
                }
            } catch {
                // A daemon left running without its vpcd reader would be reused, broken, by every
                // later run on this machine (seen once: an orphaned pcscd failed the next runs).
                Self.stop(daemon)
                shim.remove()
                throw error
            }
            pcscd = daemon
        }
    }

    /// Whether this object started pcscd itself (false: a running daemon was reused).
    public var startedDaemon: Bool { lock.withLock { pcscd != nil } }

    /// Starts `vicc -t iso7816`, which connects to vpcd: the card appears in ``readerName``.
    public func insertCard() throws {
        try lock.withLock {
            guard vicc == nil else { return }
            var environment = ProcessInfo.processInfo.environment
            environment["PYTHONPATH"] = shim.path + ":/usr/lib/python3/site-packages/virtualsmartcard"
            vicc = try Self.spawn(
                "/usr/bin/python3", [try ExternalTool("vicc").path, "-t", "iso7816", "-P", String(Self.vpcdPort)],
                environment: environment)
        }
    }

    /// Stops vicc: the card disappears from ``readerName``.
    public func removeCard() {
        lock.withLock {
            guard let card = vicc else { return }
            Self.stop(card)
            vicc = nil
        }
    }

    /// Removes the card and stops pcscd if this object started it.
    public func stop() {
        removeCard()
        lock.withLock {
            if let daemon = pcscd {
                Self.stop(daemon)
                pcscd = nil
            }
        }
        shim.remove()
    }

    /// Starts `executable` with every signal unblocked. A child inherits the signal mask of the
    /// thread that spawns it, and test threads (Dispatch workers) block SIGTERM, so a plain
    /// `Process` child would ignore `terminate()`; a one-line Python exec wrapper clears the mask.
    static func spawn(_ executable: String, _ arguments: [String], environment: [String: String]?) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments =
            [
                "-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])",
                executable,
            ] + arguments
        if let environment { process.environment = environment }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// SIGTERM, then SIGKILL if the process has not exited within five seconds (bounded wait).
    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A daemon is running when its pid file names a live process and its socket exists.
    static func daemonIsRunning() -> Bool {
        guard FileManager.default.fileExists(atPath: socketPath),
            let text = try? String(contentsOfFile: "/run/pcscd/pcscd.pid", encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { return false }
        return kill(pid, 0) == 0
    }

    /// Whether a local TCP socket listens on `port` (read from /proc/net/tcp{,6}, state 0A =
    /// LISTEN), checked without connecting: a connection to vpcd would count as a card.
    static func isListening(port: Int) -> Bool {
        let suffix = ":" + String(format: "%04X", port)
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                if fields.count > 3, fields[1].hasSuffix(suffix), fields[3] == "0A" { return true }
            }
        }
        return false
    }

    static func waitUntil(seconds: Double, failure: String = "pcscd did not start", _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < deadline else { throw TestFailure("\(failure) within \(seconds) s") }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }
}
