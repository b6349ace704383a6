import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The client side of `DIR/admin.sock`, used by `appliance agents|certs|crl …`.
public struct AdminClient: Sendable {
    public let path: String
    public init(socketPath: String) { self.path = socketPath }

    /// Sends one request and returns the response. Throws when the appliance is not running or
    /// the socket cannot be reached (permission denied for other users, by design).
    public func send(_ request: AdminRequest) throws -> AdminResponse {
        let fd = UnixSocket.streamSocket()
        guard fd >= 0 else { throw UnixSocket.failure("socket", path) }
        defer { close(fd) }
        var address = try UnixSocket.address(path)
        let result = UnixSocket.withSockaddr(&address) { connect(fd, $0, $1) }
        guard result == 0 else {
            throw ApplianceError.unavailable(
                "cannot reach the running appliance at \(path): \(String(cString: strerror(errno))) (is `appliance serve` running?)")
        }
        UnixSocket.setTimeouts(fd, seconds: 30)
        var bytes = [UInt8](try JSONEncoder().encode(request))
        bytes.append(UInt8(ascii: "\n"))
        try UnixSocket.writeAll(fd, bytes)
        let line = try UnixSocket.readLine(fd, limit: 16 * 1024 * 1024)
        do {
            return try JSONDecoder().decode(AdminResponse.self, from: Data(line))
        } catch {
            throw ApplianceError.malformed("the appliance sent an unreadable admin response")
        }
    }
}
