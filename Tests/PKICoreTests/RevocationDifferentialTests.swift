import Foundation
import PKICore
import TestSupport
import Testing
import X509

/// Differential tests of the revocation encoders (issue #16, FUZZING.md): a bounded sample of
/// generated CRLs and OCSP responses — random entry counts, serial lengths, dates on both sides of
/// 2050 (UTCTime/GeneralizedTime, RFC 5280 §4.1.2.5), every reason, invalidity dates, nonces — is
/// encoded by our signers, decoded by our decoders and by openssl, and all three must agree on
/// every entry and field. The seed is fixed so a failure reproduces; it is printed in the message.
@Suite("CRL and OCSP encoders against our decoders and openssl")
struct RevocationDifferentialTests {
    static let sampleSize = 12

    @Test("generated CRLs: our decoder and openssl crl see the same entries and fields", arguments: [RevocationTestPKI.KeyKind.p256, .rsa2048])
    func crlDifferential(kind: RevocationTestPKI.KeyKind) async throws {
        let pki = try RevocationTestPKI(kind)
        let signer = try CRLSigner(issuerCertificate: pki.ca, privateKey: pki.caKey)
        var random = SampleGenerator(seed: kind == .p256 ? 0x5EED_C41 : 0x5EED_C42)
        let openssl = try ExternalTool("openssl")
        try await withTemporaryDirectory { dir in
            try RevocationTestPKI.writePEM(pki.ca, to: dir.file("ca.pem"))
            for sample in 0..<Self.sampleSize {
                let context = "seed \(random.seed), sample \(sample)"
                let entries = try random.crlEntries(count: sample == 0 ? 0 : random.int(1...40), around: pki.now)
                let number = random.uint64()
                let idp =
                    random.bool() ? try IssuingDistributionPoint(uri: "http://ca.example.test/crl/\(sample).crl", onlyContainsUserCerts: true) : nil
                let thisUpdate = random.date(around: pki.now)
                let tbs = try TBSCertList(
                    issuerCertificate: pki.ca, thisUpdate: thisUpdate, nextUpdate: thisUpdate + Double(random.int(3600...(400 * 86_400))),
                    revokedCertificates: entries, crlNumber: CRLNumber(number), issuingDistributionPoint: idp)
                let signed = try await signer.sign(tbs, previousCRLNumber: nil)

                // Our decoder: every field back, byte for byte the same list.
                let decoded = try CertificateRevocationList(derEncoded: signed.derEncoded)
                #expect(decoded.tbsCertList == tbs, "\(context)")
                #expect(decoded.isSignatureValid(for: pki.ca), "\(context)")

                // openssl: signature, then the same entries and fields from its text form.
                try RevocationTestPKI.write(signed.derEncoded, to: dir.file("s.crl"))
                let verify = try openssl.run(["crl", "-inform", "DER", "-in", dir.file("s.crl"), "-CAfile", dir.file("ca.pem"), "-noout"])
                #expect(verify.output.contains("verify OK"), "\(context): \(verify.output)")
                let text = try openssl.run(["crl", "-inform", "DER", "-in", dir.file("s.crl"), "-noout", "-text"])
                #expect(text.succeeded, "\(context): \(text.output)")
                let seen = OpenSSLCRLText(text.stdout)
                #expect(seen.entries == entries.map(OpenSSLCRLText.Entry.init), "\(context)")
                #expect(seen.crlNumber == String(number), "\(context): \(seen.crlNumber ?? "no CRL number")")
                #expect(seen.lastUpdate == OpenSSLText.date(tbs.thisUpdate), "\(context)")
                #expect(seen.nextUpdate == OpenSSLText.date(tbs.nextUpdate), "\(context)")
                #expect(text.stdout.contains("Issuing Distribution Point") == (idp != nil), "\(context)")
            }
        }
    }

    @Test("generated OCSP responses: our decoder and openssl ocsp -respin see the same statuses and fields")
    func ocspDifferential() async throws {
        let pki = try RevocationTestPKI()
        let hashes = try OCSPIssuerHashes(issuer: pki.ca)
        let signer = try OCSPResponseSigner(responderCertificate: pki.ca, privateKey: pki.caKey)
        var random = SampleGenerator(seed: 0x5EED_0C5)
        let openssl = try ExternalTool("openssl")
        try await withTemporaryDirectory { dir in
            try RevocationTestPKI.writePEM(pki.ca, to: dir.file("ca.pem"))
            for sample in 0..<Self.sampleSize {
                let context = "seed \(random.seed), sample \(sample)"
                var singles: [OCSPSingleResponse] = []
                for _ in 0..<random.int(1...8) {
                    let certID = try hashes.certID(serialNumber: random.serial(), hashAlgorithm: random.bool() ? .sha1 : .sha256)
                    let status: OCSPCertStatus =
                        switch random.int(0...2) {
                        case 0: .good
                        case 1: .revoked(time: random.date(around: pki.now), reason: random.reason())
                        default: .unknown
                        }
                    let thisUpdate = random.date(around: pki.now)
                    let nextUpdate = random.bool() ? thisUpdate + Double(random.int(60...(7 * 86_400))) : nil
                    singles.append(try OCSPSingleResponse(certID: certID, status: status, thisUpdate: thisUpdate, nextUpdate: nextUpdate))
                }
                let nonce = random.bool() ? try OCSPNonce(random.bytes(random.int(1...32))) : nil
                let producedAt = random.date(around: pki.now)
                let der = try await signer.sign(singles, producedAt: producedAt, nonce: nonce)

                let decoded = try OCSPResponse(derEncoded: der)
                let basic = try #require(decoded.basicResponse, "\(context)")
                #expect(basic.responses == singles, "\(context)")
                #expect(basic.nonce == nonce, "\(context)")
                #expect(basic.producedAt == Date(timeIntervalSince1970: producedAt.timeIntervalSince1970.rounded(.down)), "\(context)")
                #expect(basic.isSignatureValid(signer: pki.ca), "\(context)")

                try RevocationTestPKI.write(der, to: dir.file("r.der"))
                let attime = String(Int(RevocationTestPKI.fixedNow.timeIntervalSince1970))
                let verify = try openssl.run([
                    "ocsp", "-respin", dir.file("r.der"), "-CAfile", dir.file("ca.pem"), "-verify_other", dir.file("ca.pem"), "-attime", attime,
                    "-no_nonce",
                ])
                #expect(verify.output.contains("Response verify OK"), "\(context): \(verify.output)")
                let text = try openssl.run(["ocsp", "-respin", dir.file("r.der"), "-resp_text", "-noverify"])
                #expect(text.succeeded, "\(context): \(text.output)")
                let seen = OpenSSLOCSPText(text.stdout)
                #expect(seen.responses == singles.map(OpenSSLOCSPText.Single.init), "\(context)")
                #expect(seen.producedAt == OpenSSLText.date(producedAt), "\(context)")
                // openssl prints the extnValue: the DER OCTET STRING around the nonce (RFC 8954 §2.1).
                #expect(seen.nonceHex == nonce.map { OpenSSLText.hex([0x04, UInt8($0.bytes.count)] + $0.bytes) }, "\(context): \(text.stdout)")
            }
        }
    }
}

/// A seeded generator (SplitMix64) so every sample is reproducible from the seed in the message.
struct SampleGenerator {
    let seed: UInt64
    private var state: UInt64

    init(seed: UInt64) {
        self.seed = seed
        self.state = seed
    }

    mutating func uint64() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(uint64() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    mutating func bool() -> Bool { uint64() & 1 == 1 }

    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: uint64()) } }

    /// A positive serial of 1 to 20 octets without a leading zero octet (RFC 5280 §4.1.2.2).
    mutating func serial() -> Certificate.SerialNumber {
        var bytes = self.bytes(int(1...20))
        if bytes[0] == 0 { bytes[0] = 1 }
        return Certificate.SerialNumber(bytes: bytes)
    }

    /// Whole seconds, sometimes past 2050 so GeneralizedTime is exercised (RFC 5280 §4.1.2.5).
    mutating func date(around now: Date) -> Date {
        let offset = int(0...9) == 0 ? int((30 * 365 * 86_400)...(60 * 365 * 86_400)) : int(-(400 * 86_400)...(86_400))
        return Date(timeIntervalSince1970: (now.timeIntervalSince1970 + Double(offset)).rounded(.down))
    }

    /// A reason a CRL or OCSP response may carry, or none (RFC 5280 §5.3.1: unspecified is omitted).
    mutating func reason() -> RevocationReason? {
        let reasons = RevocationReason.acceptedForRevocation.filter { $0 != .unspecified } + [.certificateHold, .privilegeWithdrawn, .aaCompromise]
        return int(0...3) == 0 ? nil : reasons[int(0...(reasons.count - 1))]
    }

    mutating func crlEntries(count: Int, around now: Date) throws -> [RevokedCertificate] {
        var seen = Set<[UInt8]>()
        var entries: [RevokedCertificate] = []
        while entries.count < count {
            let serial = self.serial()
            guard seen.insert(Array(serial.bytes)).inserted else { continue }
            let date = self.date(around: now)
            entries.append(
                try RevokedCertificate(
                    serialNumber: serial, revocationDate: date, reason: reason(),
                    invalidityDate: int(0...3) == 0 ? date - Double(int(1...86_400)) : nil))
        }
        return entries
    }
}
