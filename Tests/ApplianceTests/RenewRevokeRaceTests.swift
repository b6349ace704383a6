import ApplianceKit
import Foundation
import PKICore
import Registration
import TestSupport
import Testing
import X509

/// Issue 12 part 5: an agent revocation racing its renewal must never leave an issued, unrevoked
/// certificate — the decisions are taken inside the store's write transaction. Bounded: 3 rounds
/// of 8 agents, each renewed (twice, concurrently) while it is revoked, on the real CA and SQLite file.
@Suite("Renewal racing agent revocation")
struct RenewRevokeRaceTests {
    @Test("concurrent renewals and revocations: every certificate of a revoked agent ends revoked, and none is handed out after")
    func renewRacesRevoke() async throws {
        let harness = try await CAHarness.make()
        defer { harness.remove() }
        let ca = harness.ca
        for round in 0..<3 {
            var agents: [(certificate: Certificate, uuid: String)] = []
            for index in 0..<8 { agents.append(try await harness.enrollWithToken(hostname: "race-\(round)-\(index)")) }
            harness.pki.clock.set(agents[0].certificate.notValidAfter.addingTimeInterval(-10 * 86_400))
            let handedOut = try await withThrowingTaskGroup(of: (String, Certificate?).self) { group in
                for agent in agents {
                    let client = try harness.authenticated(agent.certificate)
                    for _ in 0..<2 {
                        let csr = try CAHarness.agentCSR(hostname: client.identity.hostname, uuid: agent.uuid)
                        group.addTask {
                            do {
                                if case .issued(let certificate, _) = try await ca.reenroll(csrDER: csr.der, client: client) {
                                    return (agent.uuid, certificate)
                                }
                            } catch let error as StoreError where error.code == .invalidState || error.code == .conflict {
                                // Refused in the transaction: the agent was revoked, or the other renewal won.
                            }
                            return (agent.uuid, nil)
                        }
                    }
                    group.addTask {
                        _ = try await ca.revokeAgent(id: agent.uuid, reason: "keyCompromise", caller: CAHarness.admin)
                        return (agent.uuid, nil)
                    }
                }
                var issued: [(String, Certificate)] = []
                for try await (uuid, certificate) in group { if let certificate { issued.append((uuid, certificate)) } }
                return issued
            }
            for agent in agents {
                guard let id = AgentID(agent.uuid) else { throw TestFailure("bad uuid") }
                #expect(try await harness.store.agent(id)?.status == .revoked)
                for record in try await harness.store.certificates(agent: id) {
                    guard case .revoked = try await harness.store.revocationStatus(serial: record.serial) else {
                        Issue.record("round \(round): certificate \(record.serial) (\(record.status)) of revoked agent \(agent.uuid) is not revoked")
                        continue
                    }
                }
            }
            // Whatever was handed out is revoked too (it was issued before the revocation committed).
            for (uuid, certificate) in handedOut {
                #expect(
                    try await ca.revocationStatus(of: certificate) == .revoked(reason: "keyCompromise"),
                    "a renewal of \(uuid) handed out a certificate that is not revoked")
            }
        }
        // Independently of our code: sqlite3 finds no unrevoked certificate of a revoked agent.
        let sqlite = try ExternalTool("sqlite3").run([
            "-readonly", harness.directory.file("rootkeeper.sqlite"),
            """
            SELECT COUNT(*) FROM certificates c JOIN agents a ON a.id = c.agent_id
            WHERE a.status = 'revoked' AND (c.status <> 'revoked' OR c.serial NOT IN (SELECT serial FROM revocations))
            """,
        ])
        #expect(sqlite.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(sqlite.output)")
    }
}
