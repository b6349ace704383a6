import Foundation
import SecureFiles
import TestSupport
import Testing

/// ``SystemAccount``: accounts by name with the re-entrant `getpwnam_r`, also under concurrent
/// lookups (the plain `getpwnam` once gave the test PostgreSQL directory to the wrong uid).
@Suite("System accounts by name: the right uid and gid, also when looked up on many threads at once")
struct SystemAccountTests {
    /// `id -u NAME` and `id -g NAME`, from outside the process.
    static func ids(_ name: String) throws -> (uid: UInt32, gid: UInt32) {
        let uid = try ExternalTool("id").run(["-u", name])
        let gid = try ExternalTool("id").run(["-g", name])
        guard uid.succeeded, gid.succeeded, let u = UInt32(uid.stdout.trimmingCharacters(in: .whitespacesAndNewlines)),
            let g = UInt32(gid.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw TestFailure("id \(name): \(uid.output) \(gid.output)") }
        return (u, g)
    }

    @Test("root, nobody and a missing account")
    func lookups() throws {
        #expect(SystemAccount.named("root") == SystemAccount(name: "root", uid: 0, gid: 0))
        let nobody = try Self.ids("nobody")
        #expect(SystemAccount.named("nobody").map { ($0.uid, $0.gid) } ?? (0, 0) == (nobody.uid, nobody.gid))
        #expect(SystemAccount.named("no-such-account-\(UUID().uuidString.prefix(8))") == nil)
    }

    @Test("two accounts looked up 20 000 times each on concurrent threads: every answer is the account asked for")
    func concurrent() async throws {
        let nobody = try Self.ids("nobody")
        let answers = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<40_000 {
                group.addTask {
                    let asked = index.isMultiple(of: 2) ? "root" : "nobody"
                    guard let account = SystemAccount.named(asked) else { return false }
                    return asked == "root" ? account.uid == 0 && account.gid == 0 : account.uid == nobody.uid && account.gid == nobody.gid
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(answers.count == 40_000 && answers.allSatisfy { $0 }, "\(answers.filter { !$0 }.count) wrong answers")
    }
}
