import Foundation
import PKICore
import TestSupport
import Testing
import X509

@Suite("OCSP responses verified by openssl")
struct OCSPResponseTests {
    /// Builds a request with openssl, answers it with `statuses` (one per requested certificate)
    /// and returns openssl's view of the response.
    private func answer(
        _ pki: RevocationTestPKI, _ dir: TemporaryDirectory, signer: OCSPResponseSigner,
        certificates: [Certificate], statuses: [OCSPCertStatus], nonce: Bool, hash: OCSPHashAlgorithm = .sha1,
        tamperNonce: Bool = false
    ) async throws -> (response: OCSPResponse, openssl: ExternalTool.Result, nonceCheck: ExternalTool.Result) {
        let openssl = try ExternalTool("openssl")
        try RevocationTestPKI.writePEM(pki.ca, to: dir.file("ca.pem"))
        var args = ["ocsp", "-issuer", dir.file("ca.pem"), "-reqout", dir.file("req.der")]
        // The digest option applies to the -cert/-serial options after it.
        if hash == .sha256 { args.append("-sha256") }
        for (index, certificate) in certificates.enumerated() {
            try RevocationTestPKI.writePEM(certificate, to: dir.file("c\(index).pem"))
            args += ["-cert", dir.file("c\(index).pem")]
        }
        if !nonce { args.append("-no_nonce") }
        let made = try openssl.run(args)
        #expect(made.succeeded, "\(made.output)")
        let request = try OCSPRequest(derEncoded: Data(contentsOf: URL(fileURLWithPath: dir.file("req.der"))))
        let hashes = try OCSPIssuerHashes(issuer: pki.ca)
        let singles = try zip(request.certIDs, statuses).map { id, status in
            #expect(hashes.matches(id))
            return try OCSPSingleResponse(certID: id, status: status, thisUpdate: Date() - 60, nextUpdate: Date() + 3600)
        }
        var nonceValue = request.nonce
        if tamperNonce, let n = nonceValue { nonceValue = try OCSPNonce(n.bytes.map { $0 ^ 0xFF }) }
        let der = try await signer.sign(singles, producedAt: Date(), nonce: nonceValue)
        try RevocationTestPKI.write(der, to: dir.file("resp.der"))
        // The test certificates are dated around a fixed instant; verify the chain at that instant
        // (response times are real and checked against the real clock).
        let attime = String(Int(RevocationTestPKI.fixedNow.timeIntervalSince1970))
        // Status per certificate: -cert makes openssl build its own request, so no nonce here.
        let check = try openssl.run(
            [
                "ocsp", "-respin", dir.file("resp.der"), "-issuer", dir.file("ca.pem"), "-CAfile", dir.file("ca.pem"),
                "-resp_text", "-no_nonce", "-attime", attime,
            ] + (hash == .sha256 ? ["-sha256"] : [])
                + certificates.indices.flatMap { ["-cert", dir.file("c\($0).pem")] })
        // Nonce echo: compare with the request that was actually sent.
        let nonceCheck = try openssl.run([
            "ocsp", "-reqin", dir.file("req.der"), "-respin", dir.file("resp.der"), "-issuer", dir.file("ca.pem"),
            "-CAfile", dir.file("ca.pem"), "-attime", attime,
        ])
        return (try OCSPResponse(derEncoded: der), check, nonceCheck)
    }

    @Test("good, revoked with reason and unknown verify with openssl", arguments: [RevocationTestPKI.KeyKind.p256, .rsa2048])
    func statuses(kind: RevocationTestPKI.KeyKind) async throws {
        let pki = try RevocationTestPKI(kind)
        let signer = try OCSPResponseSigner(responderCertificate: pki.ca, privateKey: pki.caKey)
        try await withTemporaryDirectory { dir in
            let revokedAt = Date(timeIntervalSince1970: 1_780_000_000)
            let (response, check, _) = try await answer(
                pki, dir, signer: signer, certificates: [pki.otherLeaf, pki.leaf, pki.ocspSigner],
                statuses: [.good, .revoked(time: revokedAt, reason: .keyCompromise), .unknown], nonce: false)
            #expect(check.succeeded, "\(check.output)")
            #expect(check.output.contains("Response verify OK"))
            #expect(check.stdout.contains("c0.pem: good"))
            #expect(check.stdout.contains("c1.pem: revoked"))
            #expect(check.stdout.contains("c2.pem: unknown"))
            #expect(check.stdout.contains("Reason: keyCompromise"))
            #expect(check.stdout.contains("Responder Id:"))
            #expect(response.status == .successful)
            let basic = try #require(response.basicResponse)
            #expect(basic.isSignatureValid(signer: pki.ca))
            #expect(basic.responses.map(\.status) == [.good, .revoked(time: revokedAt, reason: .keyCompromise), .unknown])
        }
    }

    @Test("SHA-256 CertIDs are answered and verify")
    func sha256CertID() async throws {
        let pki = try RevocationTestPKI()
        let signer = try OCSPResponseSigner(responderCertificate: pki.ca, privateKey: pki.caKey)
        try await withTemporaryDirectory { dir in
            let (_, check, _) = try await answer(pki, dir, signer: signer, certificates: [pki.leaf], statuses: [.good], nonce: false, hash: .sha256)
            #expect(check.output.contains("Response verify OK"), "\(check.output)")
            #expect(check.stdout.contains("c0.pem: good"))
        }
    }

    @Test("the nonce is echoed and openssl checks it; a wrong nonce is detected")
    func nonceEcho() async throws {
        let pki = try RevocationTestPKI()
        let signer = try OCSPResponseSigner(responderCertificate: pki.ca, privateKey: pki.caKey)
        try await withTemporaryDirectory { dir in
            let (response, _, check) = try await answer(pki, dir, signer: signer, certificates: [pki.leaf], statuses: [.good], nonce: true)
            #expect(check.output.contains("Response verify OK"), "\(check.output)")
            #expect(!check.output.contains("Nonce Verify error"))
            #expect(!check.output.contains("WARNING: no nonce"))
            #expect(response.basicResponse?.nonce?.bytes.count == 16)

            let (_, _, wrong) = try await answer(
                pki, dir, signer: signer, certificates: [pki.leaf], statuses: [.good], nonce: true, tamperNonce: true)
            #expect(wrong.output.contains("Nonce Verify error"), "\(wrong.output)")
        }
    }

    @Test("a delegated responder certificate in certs verifies with openssl")
    func delegatedResponder() async throws {
        let pki = try RevocationTestPKI()
        let signer = try OCSPResponseSigner(
            responderCertificate: pki.ocspSigner, privateKey: pki.ocspSignerKey, includeResponderCertificate: true)
        try await withTemporaryDirectory { dir in
            let (response, check, _) = try await answer(pki, dir, signer: signer, certificates: [pki.leaf], statuses: [.good], nonce: true)
            #expect(check.output.contains("Response verify OK"), "\(check.output)")
            let basic = try #require(response.basicResponse)
            #expect(basic.certificates == [pki.ocspSigner])
            #expect(basic.isSignatureValid(signer: pki.ocspSigner))
            #expect(!basic.isSignatureValid(signer: pki.ca))
        }
        // Without the delegated certificate in `certs`, openssl cannot find the signer.
        let notDelegated = try OCSPResponseSigner(
            responderCertificate: pki.ocspSigner, privateKey: pki.ocspSignerKey, includeResponderCertificate: false)
        try await withTemporaryDirectory { dir in
            let (_, check, _) = try await answer(pki, dir, signer: notDelegated, certificates: [pki.leaf], statuses: [.good], nonce: false)
            #expect(!check.output.contains("Response verify OK"), "without the certificate openssl cannot find the signer")
        }
    }

    @Test(
        "unsigned statuses encode as bare OCSPResponse and openssl reads them",
        arguments: [
            OCSPResponseStatus.malformedRequest, .internalError, .tryLater, .unauthorized,
        ])
    func unsignedStatuses(status: OCSPResponseStatus) async throws {
        let der = try OCSPResponseSigner.unsignedResponse(status)
        let decoded = try OCSPResponse(derEncoded: der)
        #expect(decoded.status == status)
        #expect(decoded.basicResponse == nil)
        try await withTemporaryDirectory { dir in
            try RevocationTestPKI.write(der, to: dir.file("resp.der"))
            let text = try ExternalTool("openssl").run(["ocsp", "-respin", dir.file("resp.der"), "-resp_text", "-noverify"])
            let expected = [
                "malformedRequest": "malformedrequest", "internalError": "internalerror", "tryLater": "trylater",
                "unauthorized": "unauthorized",
            ][String(describing: status)]!
            #expect(text.output.contains("Responder Error: \(expected) (\(status.rawValue))"), "\(text.output)")
        }
        let unsigned = #expect(throws: PKIError.self) { try OCSPResponseSigner.unsignedResponse(.successful) }
        #expect(
            unsigned?.code == .invalidParameter && unsigned?.reason == "a successful OCSP response must be signed", "\(String(describing: unsigned))")
    }

    @Test("our decoder round-trips what the signer produced, times to whole seconds")
    func roundTrip() async throws {
        let pki = try RevocationTestPKI()
        let hashes = try OCSPIssuerHashes(issuer: pki.ca)
        let signer = try OCSPResponseSigner(responderCertificate: pki.ca, privateKey: pki.caKey)
        let single = try OCSPSingleResponse(
            certID: hashes.certID(serialNumber: pki.leaf.serialNumber, hashAlgorithm: .sha256),
            status: .revoked(time: pki.now - 10.7, reason: nil), thisUpdate: pki.now + 0.9, nextUpdate: nil)
        let nonce = try OCSPNonce(Array(1...32))
        let der = try await signer.sign([single], producedAt: pki.now, nonce: nonce)
        let decoded = try #require(try OCSPResponse(derEncoded: der).basicResponse)
        #expect(decoded.responses == [single])
        #expect(decoded.producedAt == pki.now)
        #expect(decoded.nonce == nonce)
        #expect(decoded.isSignatureValid(signer: pki.ca))
        let emptyNonce = #expect(throws: PKIError.self) { try OCSPNonce([]) }
        #expect(
            emptyNonce?.code == .invalidParameter && emptyNonce?.reason.hasPrefix("OCSP nonce must be 1 to 32 octets") == true,
            "\(String(describing: emptyNonce))")
        let backwards = #expect(throws: PKIError.self) {
            try OCSPSingleResponse(certID: single.certID, status: .good, thisUpdate: pki.now, nextUpdate: pki.now)
        }
        #expect(
            backwards?.code == .invalidParameter && backwards?.reason == "OCSP nextUpdate must be after thisUpdate",
            "\(String(describing: backwards))")
    }
}
