import AgentKit
import Foundation
import TestSupport
import Testing

/// An appliance that is down (nothing listening on the port) is a transport error the agent
/// reports, never a crash: the client once leaked its response promise when the connection
/// failed, which NIO turns into a trap in debug builds — `agent renew` died with SIGILL during a
/// runbook whose appliance had moved to another port.
@Suite("The agent against a server that is not there")
struct UnreachableServerTests {
    @Test("connection refused is reported as 'cannot connect to the appliance at HOST:PORT: Connection refused', and the client can be used again")
    func refused() async throws {
        let pki = try await TestPKI.make()
        // A port that is bound (so nobody else takes it) but not listening: connect is refused.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let client = HTTPSClient(trust: ServerTrustPolicy(pin: SPKIPin(of: pki.root)))
        for _ in 0..<2 {
            let error = await #expect(throws: AgentError.self) {
                _ = try await client.send(method: .GET, url: URL(string: "https://127.0.0.1:\(port)/api/v1/agent/status")!)
            }
            #expect(error?.code == .transport, "\(String(describing: error))")
            #expect(
                "\(error.map { "\($0)" } ?? "")".contains("cannot connect to the appliance at 127.0.0.1:\(port): Connection refused"),
                "\(String(describing: error))")
        }
    }
}
