import AgentKit
import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing

/// Issue 18, "one identity format": `agent enroll --pin` accepts each identifier the root ceremony
/// prints (docs/identity.md) — the agent pin `sha256/BASE64`, the SPKI SHA-256 and the certificate
/// SHA-256 in hex — and a pin that matches nothing names the expected value, never the server's.
/// The real `agent` binary against a running appliance.
@Suite("agent enroll --pin accepts every identifier form, and a wrong pin never shows the server's", .serialized)
struct AgentPinFormsTests {
    static var agent: String { ProductBinary.path("agent") }

    static func tokenFile(_ app: RunningAppliance, _ name: String) async throws -> String {
        let token = try await app.ca.createToken(hostname: nil, caller: AdminCaller(uid: 0, pid: 0))
        let file = app.directory.file("\(name).token")
        _ = FileManager.default.createFile(atPath: file, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        return file
    }

    @Test(
        "the certificate SHA-256, the SPKI SHA-256 with colons in upper case, and the agent pin each enrol; a wrong pin is refused naming only itself"
    )
    func forms() async throws {
        try await RunningAppliance.with { app in
            let ids = try CertificateIdentifiers(app.pki.intermediate)
            let spki = Hex.encode(ids.spkiSHA256)
            let colons = stride(from: 0, to: spki.count, by: 2).map { String(Array(spki)[$0..<$0 + 2]) }.joined(separator: ":").uppercased()
            for (index, pin) in [Hex.encode(ids.certificateSHA256), colons, ids.agentPin].enumerated() {
                let out = app.directory.file("agent-\(index)")
                let result = try await ExternalTool(Self.agent).runAsync([
                    "enroll", "--server", app.httpsURL, "--pin", pin, "--hostname", "pin-\(index)", "--out", out,
                    "--token-file", try await Self.tokenFile(app, "t\(index)"),
                ])
                #expect(result.succeeded && result.stdout.contains("enrolled: serial"), "\(pin): \(result.output)")
            }

            // A pin of another key: refused before anything is sent; the message names the pin
            // given and none of the server's identifiers.
            let wrong = Hex.encode([UInt8](repeating: 0x5a, count: 32))
            let before = app.ca.issuedCount
            let refused = try await ExternalTool(Self.agent).runAsync([
                "enroll", "--server", app.httpsURL, "--pin", wrong, "--hostname", "pin-wrong", "--out", app.directory.file("agent-wrong"),
                "--token-file", try await Self.tokenFile(app, "wrong"),
            ])
            #expect(!refused.succeeded && refused.output.contains(wrong), "\(refused.output)")
            for shown in [spki, Hex.encode(ids.certificateSHA256), ids.agentPin, colons.lowercased()] {
                #expect(!refused.output.lowercased().contains(shown.lowercased()), "the refusal shows the server's \(shown): \(refused.output)")
            }
            #expect(app.ca.issuedCount == before)
        }
    }
}
