import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Thin POSIX helpers for the admin Unix domain socket. Kept tiny and internal; everything
/// returns Swift errors naming the call and errno.
enum UnixSocket {
    static func failure(_ call: String, _ path: String) -> ApplianceError {
        ApplianceError.unavailable("\(call) \(path): \(String(cString: strerror(errno)))")
    }

    static func address(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw ApplianceError.malformed("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    static func streamSocket() -> Int32 {
        #if canImport(Glibc)
            return socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
            return socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
    }

    static func withSockaddr<T>(_ address: inout sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// Sets a receive/send timeout so a stalled peer cannot hold the admin loop.
    static func setTimeouts(_ fd: Int32, seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Reads until a newline or EOF, at most `limit` bytes; with `within`, all of it within that
    /// many seconds. The socket's per-read timeout alone does not bound a whole line: a peer
    /// sending a byte every few seconds (slow loris) would hold the reader for as long as it
    /// liked, and the admin socket has one thread, so `revoke` would wait behind it.
    static func readLine(_ fd: Int32, limit: Int, within seconds: Int? = nil) throws -> [UInt8] {
        let deadline = seconds.map { ContinuousClock.now + .seconds($0) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while data.count <= limit {
            if let deadline, let seconds {
                let left = ContinuousClock.now.duration(to: deadline).components
                let milliseconds = left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000
                var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let polled = milliseconds > 0 ? poll(&ready, 1, Int32(milliseconds)) : 0
                if polled < 0 {
                    if errno == EINTR { continue }
                    throw failure("poll", "admin socket")
                }
                guard polled > 0 else {
                    throw ApplianceError.malformed("admin request not complete within \(seconds) s: send the whole request as one line")
                }
            }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { throw failure("read", "admin socket") }
            if count == 0 { break }
            data.append(contentsOf: buffer[0..<count])
            if let newline = data.firstIndex(of: UInt8(ascii: "\n")) { return Array(data[..<newline]) }
        }
        guard data.count <= limit else { throw ApplianceError.tooLarge("admin message exceeds \(limit) bytes") }
        return data
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written <= 0 { throw failure("write", "admin socket") }
            offset += written
        }
    }

    /// The connecting process's credentials (Linux SO_PEERCRED; `struct ucred` layout).
    static func peerCredentials(_ fd: Int32) -> AdminCaller? {
        #if os(Linux)
            var credentials = (pid: Int32(0), uid: UInt32(0), gid: UInt32(0))
            var length = socklen_t(MemoryLayout.size(ofValue: credentials))
            guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
            return AdminCaller(uid: credentials.uid, pid: credentials.pid)
        #else
            var uid = uid_t(0)
            var gid = gid_t(0)
            guard getpeereid(fd, &uid, &gid) == 0 else { return nil }
            return AdminCaller(uid: uid, pid: 0)
        #endif
    }
}
