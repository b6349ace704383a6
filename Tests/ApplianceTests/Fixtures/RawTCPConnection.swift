import Foundation
import TestSupport

@testable import ApplianceKit

#if canImport(Glibc)
    import Glibc
#endif

/// A plain TCP client socket for what curl cannot do on purpose: dribble a request byte by byte,
/// open a connection and send nothing, or hold connections open. Blocking; use from `onOwnThread {}`.
/// ``init(unixSocket:)`` does the same to a Unix domain socket (the admin socket).
final class RawTCPConnection: @unchecked Sendable {
    private let fd: Int32
    private var isClosed = false

    /// What a bounded wait for the server produced.
    enum ReadResult: Equatable, CustomStringConvertible {
        case data([UInt8])
        /// The server closed the connection (EOF or reset).
        case closed
        /// Nothing arrived within the wait.
        case nothing

        var description: String {
            switch self {
            case .data(let bytes): String(decoding: bytes, as: UTF8.self)
            case .closed: "(closed)"
            case .nothing: "(nothing)"
            }
        }
    }

    /// Connects to `127.0.0.1:port`, optionally from `source` (another loopback address).
    init(port: Int, source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        if let source {
            var local = try Self.address(source, port: 0)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                Glibc.close(fd)
                throw TestFailure("bind \(source): \(String(cString: strerror(errno)))")
            }
        }
        var remote = try Self.address("127.0.0.1", port: port)
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw TestFailure("connect: \(String(cString: strerror(errno)))")
        }
    }

    /// Connects to the Unix domain socket at `path`.
    init(unixSocket path: String) throws {
        fd = UnixSocket.streamSocket()
        guard fd >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        var address = try UnixSocket.address(path)
        guard UnixSocket.withSockaddr(&address, { connect(fd, $0, $1) }) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw TestFailure("connect \(path): \(reason)")
        }
    }

    private static func address(_ ip: String, port: Int) throws -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, ip, &address.sin_addr) == 1 else { throw TestFailure("bad address \(ip)") }
        return address
    }

    /// Sends `bytes`; false when the server has already closed the connection.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Waits up to `seconds` for bytes or EOF.
    func read(waitingUpTo seconds: Double) -> ReadResult {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(seconds * 1000)) > 0 else { return .nothing }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count > 0 ? .data(Array(buffer[0..<count])) : .closed
    }

    /// Reads until EOF (bounded by `seconds` of silence); returns everything and whether EOF came.
    func readToEnd(silenceLimit seconds: Double) -> (bytes: [UInt8], closed: Bool) {
        var all: [UInt8] = []
        while true {
            switch read(waitingUpTo: seconds) {
            case .data(let bytes): all += bytes
            case .closed: return (all, true)
            case .nothing: return (all, false)
            }
        }
    }

    /// Half-closes: the server reads EOF (FIN) while this side can still read its answers.
    func shutdownWrite() {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Closes once (a second call must not close an fd number the process has reused since).
    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }
}
