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

            _ = try await app.agentFiles(hostname: "web09")
            let client = AdminClient(socketPath: path)
            let list = try await onOwnThread { try client.send(AdminRequest(command: "agents.list")) }
            #expect(list.ok)
            #expect(list.lines.count == 1)
            #expect(list.lines.first?.hasSuffix(" web09") == true)
            let token = try await onOwnThread { try client.send(AdminRequest(command: "agents.token", arguments: ["hostname": "web10"])) }
            #expect(token.ok)
            #expect(token.lines.last?.split(separator: " ").last?.count == 36)
            let unknown = try await onOwnThread { try client.send(AdminRequest(command: "agents.explode")) }
            #expect(!unknown.ok)
            #expect(unknown.error?.contains("unknown admin command") == true)
            #expect(app.ca.adminCallers.first?.uid == getuid())
        }
    }

    @Test("admin.sock is owned by the serving user, and another uid is refused by its peer credentials even if the mode were loosened")
    func peerCredentialsRefuseOtherUsers() async throws {
        try await RunningAppliance.with { app in
            let path = app.state.adminSocket
            try await waitForFile(path)
            var info = stat()
            #expect(lstat(path, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
            #expect(info.st_mode & 0o777 == 0o600, "mode \(String(info.st_mode & 0o777, radix: 8))")
            #expect(info.st_uid == geteuid(), "admin.sock must belong to the serving user")

            // Defence in depth: make the socket reachable by `nobody` (mode 0666, directories
            // o+x) as a mistake would, and check the server still refuses that uid.
            chmod(path, 0o666)
            for directory in [app.directory.path, app.state.root.path] { chmod(directory, 0o711) }
            let client = """
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sys.argv[1])
                s.sendall(b'{"command":"agents.list","arguments":{}}\\n')
                data = b''
                while True:
                    chunk = s.recv(4096)
                    if not chunk: break
                    data += chunk
                print(data.decode())
                """
            let nobody = try await ExternalTool("setpriv").runAsync([
                "--reuid=65534", "--regid=65534", "--clear-groups", "env", "PATH=/usr/bin:/bin", "python3", "-c", client, path,
            ])
            #expect(nobody.succeeded, "\(nobody.output)")
            #expect(nobody.stdout.contains("\"ok\":false"), "\(nobody.output)")
            #expect(nobody.stdout.contains("uid 65534 may not administer"), "\(nobody.output)")
            #expect(!app.ca.adminCallers.contains { $0.uid == 65534 }, "a refused caller reached the administration service")

            // The owner (root here) is still served on the same socket.
            let list = try await onOwnThread { try AdminClient(socketPath: path).send(AdminRequest(command: "agents.list")) }
            #expect(list.ok)
            #expect(app.ca.adminCallers.last?.uid == getuid())
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
