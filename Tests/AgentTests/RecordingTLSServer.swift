import Foundation
import PKICore
import TestSupport
import X509

/// A TLS server that is not ours (python3's `ssl` module) presenting whatever certificate chain a
/// test gives it, and recording — outside the process under test — every TCP connection, every
/// completed handshake and every byte of application data it receives after a handshake. An
/// impostor for the agent's attacks (issue #11): a test shows "nothing was sent" by reading
/// ``receivedBytes`` back, and that the recorder works by a control run where bytes do arrive.
///
/// It answers any request head with `503` and closes, so a client that did send a request
/// fails quickly with a recognisable answer.
final class RecordingTLSServer: @unchecked Sendable {
    let directory: TemporaryDirectory
    let process: ExternalTool.Running
    let port: Int
    let bindAddress: String

    /// The python program: one thread per connection, events and bytes appended to files.
    static let script = #"""
        import socket, ssl, sys, threading
        chain, key, host, log = sys.argv[1:5]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain, key)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server = socket.socket(family, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, 0))
        server.listen(16)
        lock = threading.Lock()
        def note(line):
            with lock, open(log + ".events", "a") as f:
                f.write(line + "\n")
        def record(chunk):
            with lock, open(log + ".bytes", "ab") as f:
                f.write(chunk)
        def handle(connection):
            note("connection")
            try:
                tls = context.wrap_socket(connection, server_side=True)
            except Exception as error:
                note("handshake-failed " + type(error).__name__ + " " + str(error).replace("\n", " "))
                connection.close()
                return
            note("handshake-ok")
            tls.settimeout(10)
            data = b""
            try:
                while True:
                    chunk = tls.recv(65536)
                    if not chunk:
                        break
                    record(chunk)
                    data += chunk
                    if b"\r\n\r\n" in data:
                        tls.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        break
            except Exception as error:
                note("read-ended " + type(error).__name__)
            finally:
                try:
                    tls.close()
                except Exception:
                    pass
        print("listening", server.getsockname()[1], flush=True)
        while True:
            connection, _ = server.accept()
            threading.Thread(target=handle, args=(connection,), daemon=True).start()
        """#

    /// Starts the server on `bindAddress` presenting `chain` (leaf first) with `key`.
    init(chain: [Certificate], key: Certificate.PrivateKey, bindAddress: String = "127.0.0.1") throws {
        let directory = try TemporaryDirectory("impostor")
        self.directory = directory
        self.bindAddress = bindAddress
        try Self.script.write(toFile: directory.file("server.py"), atomically: true, encoding: .utf8)
        try PEMCodec.pemChain(chain).write(toFile: directory.file("chain.pem"), atomically: true, encoding: .utf8)
        try key.serializeAsPEM().pemString.appending("\n").write(toFile: directory.file("key.pem"), atomically: true, encoding: .utf8)
        chmod(directory.file("key.pem"), 0o600)
        process = try ExternalTool("python3").start([
            directory.file("server.py"), directory.file("chain.pem"), directory.file("key.pem"), bindAddress, directory.file("log"),
        ])
        guard process.waitForOutput("listening", timeout: 20),
            let match = process.output.firstMatch(of: /listening (\d+)/), let port = Int(match.1)
        else {
            let output = process.output
            process.stop()
            directory.remove()
            throw TestFailure("the python TLS server did not start:\n\(output)")
        }
        self.port = port
    }

    /// `https://HOST:PORT` for `host` (IPv6 literals in brackets).
    func url(host: String) -> String {
        host.contains(":") ? "https://[\(host)]:\(port)" : "https://\(host):\(port)"
    }

    /// Every application-data byte received after a completed handshake, over all connections.
    var receivedBytes: [UInt8] { Array(FileManager.default.contents(atPath: directory.file("log.bytes")) ?? Data()) }

    /// One line per event: `connection`, `handshake-ok`, `handshake-failed <why>`, `read-ended <why>`.
    var events: [String] {
        let text = (try? String(contentsOfFile: directory.file("log.events"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    var connectionCount: Int { events.filter { $0 == "connection" }.count }
    var completedHandshakes: Int { events.filter { $0 == "handshake-ok" }.count }

    /// Waits (bounded) until the server has logged at least `count` connections and finished with
    /// each (handshake failed or completed), so the checks read a settled log.
    func waitForConnections(_ count: Int, timeout: TimeInterval = 10) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let settled = events.filter { $0.hasPrefix("handshake-") }.count
            if connectionCount >= count && settled >= connectionCount { return }
            usleep(50_000)
        }
    }

    func stop() {
        process.stop(signal: SIGTERM)
        directory.remove()
    }
}
