import CAStore
import Foundation
import Registration
import TestSupport
import Testing

/// A revocation row whose reason code RFC 5280 §5.3.1 does not define (7, or above 10) used to make
/// the row reader throw and stop that issuer's CRL. Both SQL stores refuse such a row when it is
/// written, also by hand with the database's own tool, and a row already there is named with the fix.
@Suite("Revocation rows the CRL cannot carry are refused when written")
struct RevocationRowCheckTests {
    @Test(
        "attack: sqlite3 / psql inserting reason 7, 11 or -1 is refused; good rows still go in",
        arguments: [StoreKind.sqliteFile, .postgresql])
    func refusedAtWrite(kind: StoreKind) async throws {
        let fixture = try await StoreFixture(kind)
        defer { fixture.remove() }
        for serial in ["0a01", "0a02", "0a03", "0a04"] { try await fixture.store.reserveIssuance(Sample.certificate(serial)) }
        for (serial, reason) in [("0a01", "7"), ("0a02", "11"), ("0a03", "-1")] {
            let refused = #expect(throws: (any Error).self) {
                try fixture.tamper(
                    "INSERT INTO revocations (serial, issuer_ski, revoked_at, reason, seq) VALUES ('\(serial)', '\(Sample.issuer)', 0, \(reason), 100)"
                )
            }
            let message = "\(refused.map { "\($0)" } ?? "")"
            #expect(message.contains("revocation refused") || message.contains("revocations_reason_defined"), "\(message)")
        }
        // The store's own revocations, and a defined reason written by hand, still go in.
        _ = try await fixture.store.revoke(RevocationRecord(serial: "0a04", issuerSKI: Sample.issuer, revokedAt: Sample.t0, reason: .aaCompromise))
        try fixture.tamper("INSERT INTO revocations (serial, issuer_ski, revoked_at, reason, seq) VALUES ('0a01', '\(Sample.issuer)', 0, 8, 100)")
        let listed = try await fixture.store.revocations(issuerSKI: Sample.issuer, afterSerial: nil, limit: 10)
        #expect(listed.map(\.serial) == ["0a01", "0a04"])
        #expect(listed.map(\.reason) == [.removeFromCRL, .aaCompromise])
    }

    @Test("a bad row written before the check (trigger dropped) is named, with its fix, instead of an anonymous failure")
    func existingRowNamed() async throws {
        let fixture = try await StoreFixture(.sqliteFile)
        defer { fixture.remove() }
        try await fixture.store.reserveIssuance(Sample.certificate("0b01"))
        try fixture.tamper(
            """
            DROP TRIGGER revocations_valid_insert;
            INSERT INTO revocations (serial, issuer_ski, revoked_at, reason, seq) VALUES ('0b01', '\(Sample.issuer)', 0, 7, 1);
            """)
        let failure = await storeError { _ = try await fixture.store.revocations(issuerSKI: Sample.issuer, afterSerial: nil, limit: 10) }
        #expect(failure?.code == .corrupt)
        #expect(failure?.reason.contains("serial 0b01 has reason code 7") == true, "\(failure?.reason ?? "")")
        #expect(failure?.reason.contains("UPDATE revocations SET reason = NULL WHERE serial = '0b01'") == true)
    }
}
