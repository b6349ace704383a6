import CAStore
import Foundation
import Registration
import TestSupport
import Testing

@Suite("Revocation store conformance")
struct RevocationStoreConformanceTests {
    @Test("revocation is idempotent and lookups distinguish revoked, not revoked and unknown", arguments: StoreKind.allCases)
    func idempotent(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        try await store.reserveIssuance(Sample.certificate("r1"))
        try await store.recordIssued(serial: "r1", certificateDER: [1], at: Sample.t0)
        #expect(try await store.revocationStatus(serial: "ffff") == .unknown)
        guard case .notRevoked(let record) = try await store.revocationStatus(serial: "r1") else {
            Issue.record("an issued certificate must be reported as not revoked")
            return
        }
        #expect(record.serial == "r1")

        let first = try await store.revoke(
            RevocationRecord(
                serial: "r1", issuerSKI: Sample.issuer, revokedAt: Sample.t0 + 5,
                reason: .keyCompromise, invalidityDate: Sample.t0 + 1))
        #expect(first.newlyRevoked)
        let again = try await store.revoke(
            RevocationRecord(
                serial: "r1", issuerSKI: Sample.issuer, revokedAt: Sample.t0 + 9,
                reason: .superseded))
        #expect(!again.newlyRevoked)
        #expect(again.record == first.record)
        #expect(try await store.revocationStatus(serial: "r1") == .revoked(first.record))
        #expect(try await store.certificate(serial: "r1")?.status == .revoked)
        #expect(try await store.revocationCount(issuerSKI: Sample.issuer) == 1)

        let unknown = await storeError {
            _ = try await store.revoke(RevocationRecord(serial: "dead", issuerSKI: Sample.issuer, revokedAt: Sample.t0, reason: nil))
        }
        #expect(unknown?.code == .notFound)
    }

    @Test("100 000 revocations stream back per issuer, in serial order, in bounded pages", arguments: StoreKind.allCases)
    func largeRevocationList(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = fixture.store
        // PostgreSQL: 30 000 — every operation is a network round trip of a debug build (the
        // paging, ordering and bounds checked are the same; docs/performance.md measures release).
        let count = kind == .postgresql ? 30_000 : 100_000
        var operations: [StoreOperation] = []
        operations.reserveCapacity(2 * count + 20)
        for n in 0..<count {
            operations.append(.reserveCertificate(Sample.certificate(Sample.serial(n))))
            operations.append(
                .revoke(
                    RevocationRecord(
                        serial: Sample.serial(n), issuerSKI: Sample.issuer,
                        revokedAt: Sample.t0 + Double(n), reason: n % 3 == 0 ? nil : .keyCompromise)))
        }
        for n in count..<(count + 10) {  // another issuer's revocations must not appear
            operations.append(.reserveCertificate(Sample.certificate(Sample.serial(n), issuer: "other")))
            operations.append(.revoke(RevocationRecord(serial: Sample.serial(n), issuerSKI: "other", revokedAt: Sample.t0, reason: nil)))
        }
        _ = try await store.perform(operations)

        var seen = 0
        var previous = ""
        var ordered = true
        var largestPage = 0
        for try await page in store.revokedPages(issuerSKI: Sample.issuer, pageSize: 10_000) {
            largestPage = max(largestPage, page.count)
            for entry in page {
                if entry.serial <= previous { ordered = false }
                previous = entry.serial
                seen += 1
            }
        }
        #expect(seen == count)
        #expect(ordered)
        #expect(largestPage <= 10_000)
        #expect(try await store.revocationCount(issuerSKI: Sample.issuer) == count)
        // No time assertion: speed is the release CRL benchmark's business (BENCHMARKS.md), not a
        // debug-build test's on shared cores.
    }
}
