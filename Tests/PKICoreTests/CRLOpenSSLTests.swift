import Foundation
import PKICore
import TestSupport
import Testing
import X509

@Suite("CRLs verified by openssl")
struct CRLOpenSSLTests {
    @Test("openssl verifies our CRL and shows serials, reasons, number and AKI", arguments: [RevocationTestPKI.KeyKind.p256, .rsa2048])
    func opensslVerifiesCRL(kind: RevocationTestPKI.KeyKind) async throws {
        let pki = try RevocationTestPKI(kind)
        let entries = [
            try RevokedCertificate(
                serialNumber: pki.leaf.serialNumber, revocationDate: pki.now - 600, reason: .keyCompromise,
                invalidityDate: pki.now - 7200),
            try RevokedCertificate(
                serialNumber: Certificate.SerialNumber(bytes: [0x7F, 0xEE, 0x01]), revocationDate: pki.now - 60,
                reason: .superseded),
            try RevokedCertificate(serialNumber: Certificate.SerialNumber(bytes: [0x80, 0x01]), revocationDate: pki.now - 30),
        ]
        let idp = try IssuingDistributionPoint(uri: "http://ca.example.test/crl/intermediate.crl", onlyContainsUserCerts: true)
        let signer = try CRLSigner(issuerCertificate: pki.ca, privateKey: pki.caKey)
        let crl = try await signer.sign(pki.tbs(entries: entries, number: 4242, idp: idp), previousCRLNumber: CRLNumber(4241))

        try await withTemporaryDirectory { dir in
            try RevocationTestPKI.writePEM(pki.ca, to: dir.file("ca.pem"))
            try RevocationTestPKI.write(crl.derEncoded, to: dir.file("x.crl"))
            let openssl = try ExternalTool("openssl")
            let verify = try openssl.run(["crl", "-inform", "DER", "-in", dir.file("x.crl"), "-CAfile", dir.file("ca.pem"), "-noout"])
            #expect(verify.succeeded, "\(verify.output)")
            #expect(verify.output.contains("verify OK"))

            let text = try openssl.run(["crl", "-inform", "DER", "-in", dir.file("x.crl"), "-noout", "-text"])
            #expect(text.succeeded, "\(text.output)")
            #expect(text.stdout.contains("Serial Number: \(RevocationTestPKI.hex(pki.leaf.serialNumber))"))
            #expect(text.stdout.contains("Serial Number: 7FEE01"))
            #expect(text.stdout.contains("Serial Number: 8001"))
            #expect(text.stdout.contains("Key Compromise"))
            #expect(text.stdout.contains("Superseded"))
            #expect(text.stdout.contains("Invalidity Date"))
            #expect(text.stdout.contains("X509v3 CRL Number"))
            #expect(text.stdout.contains("4242"))
            #expect(text.stdout.contains("Version 2"))
            let ski = try #require(try pki.ca.extensions.subjectKeyIdentifier)
            let akiHex = ski.keyIdentifier.map { String(format: "%02X", $0) }.joined(separator: ":")
            #expect(text.stdout.contains(akiHex))
            #expect(text.stdout.contains("Issuing Distribution Point: critical"))
            #expect(text.stdout.contains("URI:http://ca.example.test/crl/intermediate.crl"))
            #expect(text.stdout.contains("Only User Certificates"))
        }
    }

    @Test("openssl verify -crl_check rejects the revoked leaf and accepts the other")
    func opensslCRLCheck() async throws {
        let pki = try RevocationTestPKI()
        let entry = try RevokedCertificate(serialNumber: pki.leaf.serialNumber, revocationDate: pki.now - 600, reason: .keyCompromise)
        let signer = try CRLSigner(issuerCertificate: pki.ca, privateKey: pki.caKey)
        // openssl checks thisUpdate/nextUpdate against the real clock, so this CRL is current.
        let now = Date()
        let tbs = try TBSCertList(
            issuerCertificate: pki.ca, thisUpdate: now - 60, nextUpdate: now + 86_400, revokedCertificates: [entry],
            crlNumber: CRLNumber(1))
        let crl = try await signer.sign(tbs, previousCRLNumber: nil)
        try await withTemporaryDirectory { dir in
            try RevocationTestPKI.writePEM(pki.ca, to: dir.file("ca.pem"))
            try RevocationTestPKI.writePEM(pki.leaf, to: dir.file("leaf.pem"))
            try RevocationTestPKI.writePEM(pki.otherLeaf, to: dir.file("other.pem"))
            try crl.pemEncoded.write(toFile: dir.file("crl.pem"), atomically: true, encoding: .utf8)
            let openssl = try ExternalTool("openssl")
            // The test certificates are dated around a fixed instant; -no_check_time keeps the
            // result about revocation, not about the machine's clock.
            let revoked = try openssl.run([
                "verify", "-crl_check", "-CRLfile", dir.file("crl.pem"), "-CAfile", dir.file("ca.pem"), "-no_check_time",
                dir.file("leaf.pem"),
            ])
            #expect(!revoked.succeeded)
            #expect(revoked.output.contains("certificate revoked"), "\(revoked.output)")
            let good = try openssl.run([
                "verify", "-crl_check", "-CRLfile", dir.file("crl.pem"), "-CAfile", dir.file("ca.pem"), "-no_check_time",
                dir.file("other.pem"),
            ])
            #expect(good.succeeded, "\(good.output)")
            #expect(good.stdout.contains("OK"))
        }
    }
}
