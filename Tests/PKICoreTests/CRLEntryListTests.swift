import Foundation
import PKICore
import Testing
import X509

@Suite("CRL entry list kept between generations")
struct CRLEntryListTests {
    static func entry(_ n: Int, _ pki: RevocationTestPKI, reason: RevocationReason? = .keyCompromise) throws -> RevokedCertificate {
        try RevokedCertificate(serialNumber: Certificate.SerialNumber(UInt64(n) << 40 | 0xABCD), revocationDate: pki.now - Double(n), reason: reason)
    }

    @Test("a CRL signed from the pre-encoded list has the same TBS as one signed from the entries, and verifies")
    func sameAsEntries() async throws {
        let pki = try RevocationTestPKI()
        let entries = try (1...300).map { try Self.entry($0, pki, reason: $0 % 3 == 0 ? nil : .superseded) }
        var list = CRLEntryList()
        for entry in entries { try list.append(entry, notAfter: pki.now + 86_400) }
        let signer = try CRLSigner(issuerCertificate: pki.ca, privateKey: pki.caKey)
        let fromList = try await signer.sign(pki.tbs(entries: []), entries: list, previousCRLNumber: nil)
        let fromEntries = try await signer.sign(pki.tbs(entries: entries), previousCRLNumber: nil)
        let decoded = try CertificateRevocationList(derEncoded: fromList.derEncoded)
        #expect(decoded.tbsCertList == (try CertificateRevocationList(derEncoded: fromEntries.derEncoded)).tbsCertList)
        #expect(decoded.tbsCertList.revokedCertificates == entries)
        #expect(decoded.isSignatureValid(for: pki.ca))
        #expect(fromList.entryCount == 300)
    }

    @Test("a duplicate serial or a forbidden reason is rejected when appended, and the list is unchanged")
    func lintOnAppend() throws {
        let pki = try RevocationTestPKI()
        var list = CRLEntryList()
        try list.append(Self.entry(1, pki), notAfter: nil)
        let duplicate = try RevokedCertificate(serialNumber: Self.entry(1, pki).serialNumber, revocationDate: pki.now, reason: .superseded)
        let error = #expect(throws: PKIError.self) { try list.append(duplicate, notAfter: nil) }
        #expect("\(String(describing: error))".contains("crl_entries_unique_serials"))
        let removeFromCRL = try Self.entry(2, pki, reason: .removeFromCRL)
        let reasonError = #expect(throws: PKIError.self) { try list.append(removeFromCRL, notAfter: nil) }
        #expect("\(String(describing: reasonError))".contains("crl_acceptable_reason_codes"))
        #expect(list.count == 1)
        #expect(try list.contains(Self.entry(1, pki).serialNumber))
        #expect(try !list.contains(Self.entry(2, pki).serialNumber))
    }

    @Test("removeExpired drops exactly the entries whose notAfter has passed; unknown notAfter is kept; a pruned serial can return")
    func pruning() async throws {
        let pki = try RevocationTestPKI()
        var list = CRLEntryList()
        for n in 1...10 {
            try list.append(Self.entry(n, pki), notAfter: n == 5 ? nil : pki.now + Double(n) * 100)
        }
        #expect(try list.removeExpired(at: pki.now) == 0)
        #expect(try list.removeExpired(at: pki.now + 350) == 3)  // 1, 2, 3 expired
        #expect(list.count == 7)
        #expect(try !list.contains(Self.entry(2, pki).serialNumber))
        #expect(try list.contains(Self.entry(5, pki).serialNumber))
        try list.append(Self.entry(2, pki), notAfter: pki.now + 10_000)
        #expect(try list.removeExpired(at: pki.now + 2_000) == 6)  // 4, 6...10; 5 unknown, 2 renewed
        let signed = try await CRLSigner(issuerCertificate: pki.ca, privateKey: pki.caKey)
            .sign(pki.tbs(entries: []), entries: list, previousCRLNumber: nil)
        let decoded = try CertificateRevocationList(derEncoded: signed.derEncoded)
        #expect(try decoded.tbsCertList.revokedCertificates == [Self.entry(5, pki), Self.entry(2, pki)])
        #expect(decoded.isSignatureValid(for: pki.ca))
    }
}
