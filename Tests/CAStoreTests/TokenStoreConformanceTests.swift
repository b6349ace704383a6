import CAStore
import Foundation
import Registration
import TestSupport
import Testing

@Suite("Enrolment token store conformance")
struct TokenStoreConformanceTests {
    @Test("a token enrols once; a replay, an expired token and a foreign hostname fail", arguments: StoreKind.allCases)
    func singleUse(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        try await store.insertToken(Sample.token("once"))
        try await store.insertToken(Sample.token("bound", hostname: "web1.example"))
        try await store.insertToken(Sample.token("stale", expires: Sample.t0 + 60))

        let used = try await store.consumeToken(sha256: EnrollmentToken.digest(of: "once"), hostname: "any.example", at: Sample.t0)
        #expect(used.consumedAt == Sample.t0)
        let replay = await storeError {
            _ = try await store.consumeToken(sha256: EnrollmentToken.digest(of: "once"), hostname: "any.example", at: Sample.t0 + 1)
        }
        #expect(replay?.code == .tokenUnavailable)

        let foreign = await storeError {
            _ = try await store.consumeToken(sha256: EnrollmentToken.digest(of: "bound"), hostname: "web2.example", at: Sample.t0)
        }
        #expect(foreign?.code == .tokenUnavailable)
        _ = try await store.consumeToken(sha256: EnrollmentToken.digest(of: "bound"), hostname: "web1.example", at: Sample.t0)

        let expired = await storeError {
            _ = try await store.consumeToken(sha256: EnrollmentToken.digest(of: "stale"), hostname: "x", at: Sample.t0 + 60)
        }
        #expect(expired?.code == .tokenUnavailable)
        let unknown = await storeError { _ = try await store.consumeToken(sha256: "00", hostname: "x", at: Sample.t0) }
        #expect(unknown?.code == .tokenUnavailable)
    }

    @Test("only the digest of a token is stored", arguments: StoreKind.allCases)
    func digestOnly(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        try await fixture.store.insertToken(Sample.token("s3cret-token-value"))
        #expect(try await fixture.store.token(sha256: "s3cret-token-value") == nil)
        if kind == .sqliteFile {
            let bytes =
                try Data(contentsOf: URL(fileURLWithPath: fixture.databasePath))
                + ((try? Data(contentsOf: URL(fileURLWithPath: fixture.databasePath + "-wal"))) ?? Data())
            #expect(bytes.range(of: Data("s3cret-token-value".utf8)) == nil)
            #expect(bytes.range(of: Data(EnrollmentToken.digest(of: "s3cret-token-value").utf8)) != nil)
        }
        if let (cluster, database) = fixture.postgres {
            let dump = try cluster.dump(database: database)
            #expect(!dump.contains("s3cret-token-value"))
            #expect(dump.contains(EnrollmentToken.digest(of: "s3cret-token-value")))
        }
    }

    @Test("of eight concurrent consumers of one token exactly one wins", arguments: StoreKind.allCases)
    func concurrentConsumers(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        try await store.insertToken(Sample.token("race"))
        let digest = EnrollmentToken.digest(of: "race")
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<8 {
                group.addTask {
                    do {
                        _ = try await store.perform([
                            .consumeToken(tokenSHA256: digest, hostname: "h", at: Sample.t0),
                            .ensureAgent(Sample.agent(index)),
                            .reserveCertificate(Sample.certificate(Sample.serial(index), agent: Sample.agentID(index))),
                        ])
                        return true
                    } catch let error as StoreError where error.code == .tokenUnavailable {
                        return false
                    }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(try await store.counts().reduce(0) { $0 + $1.count } == 1)
    }
}
