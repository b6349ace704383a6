import ApplianceKit
import Foundation
import TestSupport
import Testing

@Suite("The admin Unix socket")
struct AdminSocketTests {
    @Test("admin.sock is created 0600, answers list/token requests and passes the caller's uid to the service")
    func socketRoundTrip() async throws {
        try await RunningAppliance.with { app in
            let path = app.state.adminSocket
            try await waitForFile(path)
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)

            _ = try app.agentFiles(hostname: "web09")
            let client = AdminClient(socketPath: path)
            let list = try await blocking { try client.send(AdminRequest(command: "agents.list")) }
            #expect(list.ok)
            #expect(list.lines.count == 1)
            #expect(list.lines.first?.hasSuffix(" web09") == true)
            let token = try await blocking { try client.send(AdminRequest(command: "agents.token", arguments: ["hostname": "web10"])) }
            #expect(token.ok)
            #expect(token.lines.last?.split(separator: " ").last?.count == 36)
            let unknown = try await blocking { try client.send(AdminRequest(command: "agents.explode")) }
            #expect(!unknown.ok)
            #expect(unknown.error?.contains("unknown admin command") == true)
            #expect(app.ca.adminCallers.first?.uid == getuid())
        }
    }
}

func waitForFile(_ path: String) async throws {
    for _ in 0..<100 {
        if FileManager.default.fileExists(atPath: path) { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw TestFailure("\(path) did not appear")
}
