import CAStore
import Foundation
import Registration
import TestSupport
import Testing

/// The batched notAfter lookup the CRL publisher prunes with (RFC 5280 §3.3): it must agree with
/// `certificate(serial:)` for every serial, across more than one SQL statement's worth of serials.
@Suite("Expiry lookup conformance")
struct ExpiryLookupConformanceTests {
    @Test(
        "the batched notAfter lookup answers every known serial like certificate(serial:) and omits unknown ones",
        arguments: StoreKind.allCases)
    func batchedLookupMatchesSingleLookups(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        // 2 500 certificates: several 900-serial statements in the SQLite store, with different expiries.
        let count = 2_500
        let operations: [StoreOperation] = (0..<count).map { n in
            .reserveCertificate(Sample.certificate(Sample.serial(n), notAfter: Sample.t0 + Double(n % 97) * Sample.day))
        }
        _ = try await fixture.store.perform(operations)
        // Every known serial, interleaved with serials never issued (incl. a quote, which must not break the SQL).
        var asked: [String] = []
        for n in 0..<count {
            asked.append(Sample.serial(n))
            if n % 250 == 0 { asked.append("ffff\(n)") }
        }
        asked.append("7f'; DROP TABLE certificates; --")

        let answer = try await Self.batched(fixture, asked)

        #expect(answer.count == count, "only serials the store knows are answered")
        for n in stride(from: 0, to: count, by: 37) {
            let serial = Sample.serial(n)
            let single = try await fixture.store.certificate(serial: serial)
            #expect(answer[serial] == single?.notAfter)
            #expect(answer[serial] == Sample.t0 + Double(n % 97) * Sample.day)
        }
        #expect(answer["ffff0"] == nil)
        #expect(try await Self.batched(fixture, []).isEmpty)
        #expect(try await fixture.store.certificate(serial: Sample.serial(0)) != nil, "the table survived the odd serial")
    }

    static func batched(_ fixture: StoreFixture, _ serials: [String]) async throws -> [String: Date] {
        switch fixture.store {
        case let sqlite as SQLiteStore: return try await sqlite.notAfter(serials: serials)
        case let memory as InMemoryStore: return await memory.notAfter(serials: serials)
        case let postgres as PostgreSQLStore: return try await postgres.notAfter(serials: serials)
        default:
            Issue.record("store \(fixture.kind) has no batched notAfter lookup")
            return [:]
        }
    }
}
