import Foundation
import PKICore
import Testing
import X509

@Suite("CRL encoding and decoding")
struct CRLCodingTests {
    @Test("decode(encode(x)) == x, for DER and PEM, with all entry variants", arguments: [RevocationTestPKI.KeyKind.p256, .rsa2048])
    func roundTrip(kind: RevocationTestPKI.KeyKind) async throws {
        let pki = try RevocationTestPKI(kind)
        var entries: [RevokedCertificate] = []
        for (index, reason) in RevocationReason.allCases.filter({ $0 != .unspecified && $0 != .removeFromCRL }).enumerated() {
            entries.append(
                try RevokedCertificate(
                    serialNumber: Certificate.SerialNumber(bytes: [0x80 | UInt8(index)] + Array(repeating: UInt8(index), count: 19)),
                    revocationDate: pki.now - Double(index) * 3600.5, reason: reason,
                    invalidityDate: index.isMultiple(of: 2) ? pki.now - 86_400 : nil))
        }
        entries.append(try RevokedCertificate(serialNumber: Certificate.SerialNumber(bytes: [0x01]), revocationDate: pki.now))
        let tbs = try pki.tbs(entries: entries, number: 99, idp: IssuingDistributionPoint(uri: "http://x.test/a.crl", onlyContainsCACerts: true))
        let signed = try await CRLSigner(issuerCertificate: pki.ca, privateKey: pki.caKey).sign(tbs, previousCRLNumber: nil)

        let decoded = try CertificateRevocationList(derEncoded: signed.derEncoded)
        #expect(decoded.tbsCertList == tbs)
        #expect(decoded.derEncoded == signed.derEncoded)
        #expect(decoded.isSignatureValid(for: pki.ca))
        #expect(signed.entryCount == entries.count)
        let fromPEM = try CertificateRevocationList(pemEncoded: signed.pemEncoded)
        #expect(fromPEM.tbsCertList == tbs)
        #expect(fromPEM.derEncoded == signed.derEncoded)
        #expect(signed.pemEncoded.hasPrefix("-----BEGIN X509 CRL-----\n"))
    }

    @Test("an empty CRL omits revokedCertificates and round-trips")
    func emptyCRL() async throws {
        let pki = try RevocationTestPKI()
        let tbs = try pki.tbs(entries: [])
        let signed = try await CRLSigner(issuerCertificate: pki.ca, privateKey: pki.caKey).sign(tbs, previousCRLNumber: nil)
        let decoded = try CertificateRevocationList(derEncoded: signed.derEncoded)
        #expect(decoded.tbsCertList == tbs)
        #expect(decoded.tbsCertList.revokedCertificates.isEmpty)
    }

    @Test("streamed entries produce the same bytes as an array of entries")
    func streamingEqualsArray() async throws {
        let pki = try RevocationTestPKI()
        let entries = try (1...500).map {
            try RevokedCertificate(
                serialNumber: Certificate.SerialNumber(UInt64($0) << 40 | 0xABCD),
                revocationDate: pki.now - Double($0), reason: $0 % 3 == 0 ? .superseded : nil)
        }
        let signer = try CRLSigner(issuerCertificate: pki.ca, privateKey: pki.caKey)
        let streamed = try await signer.sign(pki.tbs(entries: []), additionalEntries: entries.lazy.map { $0 }, previousCRLNumber: nil)
        let decoded = try CertificateRevocationList(derEncoded: streamed.derEncoded)
        #expect(decoded.tbsCertList.revokedCertificates == entries)
        #expect(decoded.isSignatureValid(for: pki.ca))
    }

    @Test("a tampered CRL fails signature verification")
    func tampered() async throws {
        let pki = try RevocationTestPKI()
        let entry = try RevokedCertificate(serialNumber: pki.leaf.serialNumber, revocationDate: pki.now, reason: .keyCompromise)
        let signed = try await CRLSigner(issuerCertificate: pki.ca, privateKey: pki.caKey).sign(pki.tbs(entries: [entry]), previousCRLNumber: nil)
        // Change the reason code of the entry (keyCompromise 1 → cACompromise 2) inside the TBS.
        var bytes = signed.derEncoded
        let pattern: [UInt8] = [0x55, 0x1D, 0x15, 0x04, 0x03, 0x0A, 0x01, 0x01]
        let index = try #require((0...(bytes.count - pattern.count)).first { Array(bytes[$0..<$0 + pattern.count]) == pattern })
        bytes[index + pattern.count - 1] = 0x02
        let tampered = try CertificateRevocationList(derEncoded: bytes)
        #expect(tampered.tbsCertList.revokedCertificates.first?.reason == .caCompromise)
        #expect(!tampered.isSignatureValid(for: pki.ca))
        let forged = #expect(throws: PKIError.self) { try tampered.verifySignature(issuer: pki.ca) }
        #expect(
            forged?.code == .invalidSignature && forged?.reason.contains("CRL signature does not verify") == true, "\(String(describing: forged))")
        // And a CRL never verifies against another CA.
        let other = try RevocationTestPKI()
        #expect(!(try CertificateRevocationList(derEncoded: signed.derEncoded)).isSignatureValid(for: other.ca))
    }

    @Test("dates through 2049 are UTCTime, from 2050 GeneralizedTime (RFC 5280 §5.1.2.4)")
    func timeEncoding() async throws {
        let pki = try RevocationTestPKI()
        let lastUTC = Date(timeIntervalSince1970: 2_524_607_999)  // 2049-12-31T23:59:59Z
        let firstGeneralized = Date(timeIntervalSince1970: 2_524_608_000)  // 2050-01-01T00:00:00Z
        let entries = [
            try RevokedCertificate(serialNumber: Certificate.SerialNumber(bytes: [1]), revocationDate: lastUTC),
            try RevokedCertificate(serialNumber: Certificate.SerialNumber(bytes: [2]), revocationDate: firstGeneralized),
        ]
        let tbs = try TBSCertList(
            issuerCertificate: pki.ca, thisUpdate: lastUTC, nextUpdate: firstGeneralized, revokedCertificates: entries,
            crlNumber: CRLNumber(1))
        let signed = try await CRLSigner(issuerCertificate: pki.ca, privateKey: pki.caKey).sign(tbs, previousCRLNumber: nil)
        let bytes = signed.derEncoded
        #expect(bytes.containsSequence([0x17, 0x0D] + Array("491231235959Z".utf8)))
        #expect(bytes.containsSequence([0x18, 0x0F] + Array("20500101000000Z".utf8)))
        #expect(!bytes.containsSequence([0x17, 0x0D, 0x35, 0x30]))  // no UTCTime "50…"
        #expect(try CertificateRevocationList(derEncoded: bytes).tbsCertList == tbs)
    }

    @Test("truncated or garbage input is a malformedInput error, never a crash")
    func malformed() async throws {
        let pki = try RevocationTestPKI()
        let signed = try await CRLSigner(issuerCertificate: pki.ca, privateKey: pki.caKey).sign(
            pki.tbs(entries: [RevokedCertificate(serialNumber: pki.leaf.serialNumber, revocationDate: pki.now)]), previousCRLNumber: nil)
        for length in [0, 1, 2, 10, signed.derEncoded.count / 2, signed.derEncoded.count - 1] {
            let truncated = #expect(throws: PKIError.self) { try CertificateRevocationList(derEncoded: Array(signed.derEncoded.prefix(length))) }
            #expect(
                truncated?.code == .malformedInput && truncated?.reason.hasPrefix("CertificateList: ") == true,
                "\(length) bytes: \(String(describing: truncated))")
        }
        let trailing = #expect(throws: PKIError.self) { try CertificateRevocationList(derEncoded: signed.derEncoded + [0]) }
        #expect(
            trailing?.code == .malformedInput && trailing?.reason == "CertificateList: unexpected trailing data", "\(String(describing: trailing))")
        let wrongPEM = #expect(throws: PKIError.self) {
            try CertificateRevocationList(pemEncoded: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
        }
        #expect(
            wrongPEM?.code == .malformedInput && wrongPEM?.reason == "CRL PEM: expected X509 CRL, found CERTIFICATE",
            "\(String(describing: wrongPEM))")
    }

    @Test("CRL numbers are bounded to 20 octets, ordered and incremented with carry")
    func crlNumbers() throws {
        let tooLong = #expect(throws: PKIError.self) { try CRLNumber(magnitude: [0x80] + Array(repeating: 0, count: 19)) }
        #expect(tooLong?.code == .invalidParameter && tooLong?.reason.contains("longer than 20 octets") == true, "\(String(describing: tooLong))")
        let largest = try CRLNumber(magnitude: [0x7F] + Array(repeating: 0xFF, count: 19))
        let overflow = #expect(throws: PKIError.self) { try largest.next() }
        #expect(overflow?.code == .invalidParameter && overflow?.reason.contains("longer than 20 octets") == true, "\(String(describing: overflow))")
        #expect(try CRLNumber(255).next() == CRLNumber(256))
        #expect(CRLNumber(255) < CRLNumber(256))
        #expect(try CRLNumber(magnitude: [0, 0, 5]) == CRLNumber(5))
        #expect(CRLNumber(0).description == "0")
    }

    @Test("reason names parse for the CLI; 7 is not a reason")
    func reasonNames() {
        #expect(RevocationReason(name: "keyCompromise") == .keyCompromise)
        #expect(RevocationReason(name: "superseded") == .superseded)
        #expect(RevocationReason(name: "caCompromise") == .caCompromise)
        #expect(RevocationReason(name: "bogus") == nil)
        #expect(RevocationReason(code: 7) == nil)
        #expect(RevocationReason(code: 10) == .aaCompromise)
    }
}

extension Array where Element == UInt8 {
    func containsSequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        return (0...(count - needle.count)).contains { self[$0..<$0 + needle.count].elementsEqual(needle) }
    }
}
