import CAStore
import Foundation
import Registration
import TestSupport
import Testing

/// `IssuerActivityStore`: when does an intermediate's last certificate expire (retirement after a
/// renewal overlap)?
@Suite("Issuer activity: latest expiry per issuer")
struct IssuerActivityConformanceTests {
    @Test("the latest notAfter of an issuer counts every status but skips excluded types and other issuers", arguments: StoreKind.allCases)
    func latestExpiry(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        let store = try #require(fixture.store as? any IssuerActivityStore)
        let other = String(repeating: "9", count: 40)
        #expect(try await store.latestExpiry(issuerSKI: Sample.issuer, excluding: []) == nil)

        try await fixture.store.reserveIssuance(Sample.certificate("e1", notAfter: Sample.t0 + 30 * Sample.day))
        try await fixture.store.reserveIssuance(Sample.certificate("e2", notAfter: Sample.t0 + 90 * Sample.day))
        try await fixture.store.recordIssued(serial: "e2", certificateDER: [0x30, 0x00], at: Sample.t0)
        _ = try await fixture.store.revoke(
            RevocationRecord(
                serial: "e2", issuerSKI: Sample.issuer, revokedAt: Sample.t0, reason: .keyCompromise))
        try await fixture.store.reserveIssuance(Sample.certificate("e3", notAfter: Sample.t0 + 400 * Sample.day, type: .ocspSigner))
        try await fixture.store.reserveIssuance(Sample.certificate("e4", issuer: other, notAfter: Sample.t0 + 900 * Sample.day))

        // The revoked certificate (90 days) is the last one that counts: it stays on the CRL until then.
        #expect(try await store.latestExpiry(issuerSKI: Sample.issuer, excluding: [.ocspSigner]) == Sample.t0 + 90 * Sample.day)
        #expect(try await store.latestExpiry(issuerSKI: Sample.issuer, excluding: []) == Sample.t0 + 400 * Sample.day)
        #expect(try await store.latestExpiry(issuerSKI: other, excluding: [.ocspSigner]) == Sample.t0 + 900 * Sample.day)
    }
}
