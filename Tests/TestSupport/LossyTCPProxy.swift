import Foundation

/// A loopback TCP proxy that can lose responses (issue 12 part 3: "the response was lost").
///
/// It forwards bytes both ways between a client and `127.0.0.1:upstreamPort`. Once armed with
/// ``dropResponses(when:)``, before forwarding each chunk the server sends, it asks the predicate
/// (e.g. "has the appliance committed the new certificate?"); when that says yes the connection
/// is cut in both directions and the chunk is never delivered — so the client loses exactly the
/// answer the server produced after its commit, whatever TLS did before. Its port is chosen by
/// the kernel at run time.
public final class LossyTCPProxy: @unchecked Sendable {
    public let port: Int
    private let upstreamPort: Int
    private let listener: Int32
    private let lock = NSLock()
    private var predicate: (@Sendable () -> Bool)?
    private var droppedCount = 0
    private var closed = false

    public init(upstreamPort: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw TestFailure("bind/listen: \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.upstreamPort = upstreamPort
        self.listener = fd
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// From now on, a server chunk is dropped (and its connection cut) when `predicate` is true.
    public func dropResponses(when predicate: @escaping @Sendable () -> Bool) { lock.withLock { self.predicate = predicate } }
    /// Forward everything again.
    public func disarm() { lock.withLock { predicate = nil } }
    /// Connections cut so far.
    public var dropped: Int { lock.withLock { droppedCount } }

    public func stop() {
        lock.withLock { closed = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if lock.withLock({ closed }) { return }
                continue
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: upstreamPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                close(client)
                close(upstream)
                continue
            }
            let link = Link(client: client, upstream: upstream)
            Thread.detachNewThread { [self] in pump(from: client, to: upstream, link: link, checked: false) }
            Thread.detachNewThread { [self] in pump(from: upstream, to: client, link: link, checked: true) }
        }
    }

    /// Both sockets of one proxied connection, closed once when both pumps are done.
    private final class Link: @unchecked Sendable {
        let client: Int32
        let upstream: Int32
        private let lock = NSLock()
        private var finished = 0
        init(client: Int32, upstream: Int32) {
            self.client = client
            self.upstream = upstream
        }
        func cut() {
            shutdown(client, Int32(SHUT_RDWR))
            shutdown(upstream, Int32(SHUT_RDWR))
        }
        func pumpFinished() {
            let both = lock.withLock {
                finished += 1
                return finished == 2
            }
            if both {
                close(client)
                close(upstream)
            }
        }
    }

    private func pump(from source: Int32, to destination: Int32, link: Link, checked: Bool) {
        defer { link.pumpFinished() }
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = read(source, &buffer, buffer.count)
            if count <= 0 {
                link.cut()
                return
            }
            if checked, let predicate = lock.withLock({ predicate }), predicate() {
                lock.withLock { droppedCount += 1 }
                link.cut()
                return
            }
            var offset = 0
            while offset < count {
                let written = buffer[offset..<count].withUnsafeBytes { write(destination, $0.baseAddress, $0.count) }
                if written <= 0 {
                    link.cut()
                    return
                }
                offset += written
            }
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

}
