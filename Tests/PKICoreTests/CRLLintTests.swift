import Foundation
import PKICore
import Testing
import X509

@Suite("CRL lint rules stop signing")
struct CRLLintTests {
    let pki: RevocationTestPKI
    let signer: CRLSigner

    init() throws {
        pki = try RevocationTestPKI()
        signer = try CRLSigner(issuerCertificate: pki.ca, privateKey: pki.caKey)
    }

    private func entry(_ serial: [UInt8], reason: RevocationReason? = .keyCompromise) throws -> RevokedCertificate {
        try RevokedCertificate(serialNumber: Certificate.SerialNumber(bytes: serial), revocationDate: pki.now - 60, reason: reason)
    }

    /// Signs and returns the lint error; fails the test if signing succeeded.
    private func lintError(_ tbs: TBSCertList, previous: CRLNumber? = nil) async throws -> PKIError {
        do {
            _ = try await signer.sign(tbs, previousCRLNumber: previous)
        } catch let error as PKIError {
            return error
        }
        Issue.record("signing succeeded although a lint rule should have failed")
        return PKIError(.signingFailure, "unexpected success")
    }

    @Test("a CRL number not above the previous one fails crl_number_increases")
    func numberMustIncrease() async throws {
        for previous: UInt64 in [7, 8, 1000] {
            let error = try await lintError(pki.tbs(entries: [], number: 7), previous: CRLNumber(previous))
            #expect(error.code == .lintFailure)
            #expect(error.reason.contains("crl_number_increases"))
        }
        // The boundary: previous + 1 is fine.
        _ = try await signer.sign(pki.tbs(entries: [], number: 7), previousCRLNumber: CRLNumber(6))
    }

    @Test("nextUpdate not after thisUpdate fails crl_next_update_after_this_update")
    func nextUpdateAfterThisUpdate() async throws {
        var tbs = try pki.tbs(entries: [])
        tbs.nextUpdate = tbs.thisUpdate
        let error = try await lintError(tbs)
        #expect(error.code == .lintFailure)
        #expect(error.reason.contains("crl_next_update_after_this_update"))
    }

    @Test(
        "explicit unspecified and removeFromCRL reasons fail crl_acceptable_reason_codes", arguments: [RevocationReason.unspecified, .removeFromCRL])
    func reasonCodes(reason: RevocationReason) async throws {
        let tbs = try pki.tbs(entries: [entry([0x01]), entry([0x02], reason: reason)])
        let error = try await lintError(tbs)
        #expect(error.code == .lintFailure)
        #expect(error.reason.contains("crl_acceptable_reason_codes"))
        #expect(error.reason.contains(reason.name))
    }

    @Test("an AKI that is not the issuer's SKI fails crl_aki_matches_issuer_ski")
    func akiMatches() async throws {
        var tbs = try pki.tbs(entries: [])
        tbs.authorityKeyIdentifier = Array(repeating: 0xAB, count: 20)
        let error = try await lintError(tbs)
        #expect(error.reason.contains("crl_aki_matches_issuer_ski"))
    }

    @Test("an issuer name other than the CA subject fails crl_issuer_name_matches")
    func issuerName() async throws {
        var tbs = try pki.tbs(entries: [])
        tbs.issuer = try DistinguishedName { CommonName("Someone Else CA") }
        let error = try await lintError(tbs)
        #expect(error.reason.contains("crl_issuer_name_matches"))
    }

    @Test("a serial listed twice fails crl_entries_unique_serials, also when streamed")
    func uniqueSerials() async throws {
        let duplicate = try pki.tbs(entries: [entry([0x10, 0x20]), entry([0x30]), entry([0x10, 0x20], reason: .superseded)])
        let error = try await lintError(duplicate)
        #expect(error.reason.contains("crl_entries_unique_serials"))
        #expect(error.reason.contains("1020"))

        let streamed = try [entry([0x55]), entry([0x55])]
        let streamedError = await #expect(throws: PKIError.self) {
            _ = try await signer.sign(pki.tbs(entries: []), additionalEntries: streamed, previousCRLNumber: nil)
        }
        #expect(
            streamedError?.code == .lintFailure && streamedError?.reason.contains("crl_entries_unique_serials") == true
                && streamedError?.reason.contains("serial 55 is listed more than once") == true,
            "\(String(describing: streamedError))")
        // Serials that only differ by length are different certificates.
        _ = try await signer.sign(pki.tbs(entries: [entry([0x01]), entry([0x01, 0x00]), entry([0x00, 0x01, 0x00, 0x00])]), previousCRLNumber: nil)
    }

    @Test("every lint rule the signer runs has a failing case above")
    func ruleList() {
        #expect(
            Set(CRLSigner.lintRuleNames) == [
                "crl_number_increases", "crl_next_update_after_this_update", "crl_acceptable_reason_codes",
                "crl_aki_matches_issuer_ski", "crl_issuer_name_matches", "crl_entries_unique_serials",
            ])
    }

    @Test("a signer refuses a key that does not belong to the issuer certificate")
    func wrongKey() throws {
        let other = try RevocationTestPKI()
        let mismatch = #expect(throws: PKIError.self) { try CRLSigner(issuerCertificate: pki.ca, privateKey: other.caKey) }
        #expect(
            mismatch?.code == .invalidParameter && mismatch?.reason == "the CRL signing key does not match the issuer certificate",
            "\(String(describing: mismatch))")
    }
}
