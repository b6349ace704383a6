import ApplianceKit
import Foundation
import PKICore
import Registration
import TestSupport
import Testing
import X509

@Suite("OCSP responder: answers checked by openssl")
struct OCSPResponderTests {
    @Test("good, revoked (with reason) and unknown, for SHA-1 and SHA-256 CertIDs, with and without nonce, verified by openssl")
    func statusesVerifiedByOpenSSL() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let responder = try await h.responder()
        try await responder.prepare()
        let client = try OpenSSLOCSPClient(h)
        let good = try await h.issue("good")
        let revoked = try await h.issue("revoked")
        try await h.revokeInStore(revoked, reason: .keyCompromise)
        responder.revocationOccurred(serialHex: CAHarness.serialHex(revoked))
        let neverIssued = "7A11CE0FF1CE"

        let cases: [(String, String, String)] = [
            (CAHarness.serialHex(good), "good", "Cert Status: good"),
            (CAHarness.serialHex(revoked), "revoked", "Revocation Reason: keyCompromise"),
            (neverIssued, "unknown", "Cert Status: unknown"),
        ]
        for (serial, status, detail) in cases {
            for sha256 in [false, true] {
                for nonce in [false, true] {
                    let name = "\(status)-\(sha256)-\(nonce)"
                    let request = try client.request(serialHex: serial, nonce: nonce, sha256: sha256, name: name)
                    let response = try await responder.respond(toRequest: request)
                    let result = try client.check(response: response, serialHex: serial, name: name)
                    #expect(result.output.contains("Response verify OK"), "\(name): \(result.output)")
                    #expect(
                        result.stdout.contains("0x\(serial): \(status)") || result.stdout.lowercased().contains(": \(status)"),
                        "\(name): \(result.stdout)")
                    #expect(result.stdout.contains(detail), "\(name): \(result.stdout)")
                    let decoded = try #require(try OCSPResponse(derEncoded: response).basicResponse)
                    #expect(decoded.responses.first?.certID.hashAlgorithm == (sha256 ? .sha256 : .sha1))
                    if nonce {
                        let sent = try OCSPRequest(derEncoded: request).nonce
                        #expect(sent != nil && decoded.nonce == sent)
                        let withRequest = try client.check(response: response, serialHex: serial, requestName: name, name: name + "-n")
                        #expect(withRequest.output.contains("Response verify OK"), "\(withRequest.output)")
                        #expect(!withRequest.output.contains("WARNING"), "\(withRequest.output)")
                    } else {
                        #expect(decoded.nonce == nil)
                    }
                }
            }
        }
    }

    @Test("responses are signed by a delegated OCSP signing certificate issued by the intermediate and included in certs")
    func delegatedResponderCertificate() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let responder = try await h.responder()
        let signerCertificate = try await responder.prepare()
        #expect(signerCertificate.issuer == h.pki.intermediate.subject)
        #expect(try signerCertificate.extensions.extendedKeyUsage?.contains(.ocspSigning) == true)
        #expect(signerCertificate.extensions[oid: OCSPSignerProfile.noCheckOID] != nil)
        #expect(signerCertificate.notValidAfter.timeIntervalSince(signerCertificate.notValidBefore) <= 8 * 86_400)
        // Recorded in the store like every certificate the intermediate signs.
        let record = try await h.store.certificate(serial: PKICore.Hex.encode(signerCertificate.serialNumber.bytes))
        #expect(record?.type == .ocspSigner && record?.status == .issued)

        let leaf = try await h.issue("leaf")
        let hashes = try OCSPIssuerHashes(issuer: h.pki.intermediate)
        let response = try await responder.respond(toRequest: TestDER.request(hashes: hashes, serials: [Array(leaf.certificate.serialNumber.bytes)]))
        let basic = try #require(try OCSPResponse(derEncoded: response).basicResponse)
        #expect(basic.certificates == [signerCertificate])
        #expect(basic.isSignatureValid(signer: signerCertificate))
        #expect(!basic.isSignatureValid(signer: h.pki.intermediate))
    }

    @Test("another CA's CertID is unauthorized, garbage is malformedRequest, 10 000 CertIDs are refused")
    func refusals() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let responder = try await h.responder()
        let client = try OpenSSLOCSPClient(h)
        let other = try await TestPKI.make(organization: "Other CA")
        let otherPEM = h.directory.file("other-intermediate.pem")
        try PEMCodec.pem(other.intermediate).write(toFile: otherPEM, atomically: true, encoding: .utf8)
        let leaf = try await h.issue("leaf")

        let foreign = try client.request(serialHex: CAHarness.serialHex(leaf), issuerPEM: otherPEM, nonce: false, name: "foreign")
        let unauthorized = try await responder.respond(toRequest: foreign)
        #expect(try OCSPResponse(derEncoded: unauthorized).status == .unauthorized)
        let shown = try client.check(response: unauthorized, serialHex: CAHarness.serialHex(leaf), name: "foreign")
        #expect(shown.output.contains("unauthorized"), "\(shown.output)")

        let garbage = try await responder.respond(toRequest: Array("GET / HTTP/1.1\r\n\r\n".utf8))
        #expect(try OCSPResponse(derEncoded: garbage).status == .malformedRequest)
        #expect(try await OCSPResponse(derEncoded: responder.respond(toRequest: [])).status == .malformedRequest)

        let hashes = try OCSPIssuerHashes(issuer: h.pki.intermediate)
        let many = TestDER.request(hashes: hashes, serials: (1...10_000).map { [0x01, UInt8($0 >> 8), UInt8($0 & 0xFF)] })
        #expect(try await OCSPResponse(derEncoded: responder.respond(toRequest: many)).status == .malformedRequest)
        let atLimit = TestDER.request(hashes: hashes, serials: (1...OCSPRequest.maximumCertIDs).map { [0x01, UInt8($0)] })
        let answered = try #require(try await OCSPResponse(derEncoded: responder.respond(toRequest: atLimit)).basicResponse)
        #expect(answered.responses.count == OCSPRequest.maximumCertIDs)
        #expect(answered.responses.allSatisfy { $0.status == .unknown })
        #expect(h.metrics.registry.value("rootkeeper_ocsp_responses_total", labels: ["status": "malformedRequest"]) == 3)
        #expect(h.metrics.registry.value("rootkeeper_ocsp_responses_total", labels: ["status": "unauthorized"]) == 1)
    }

    @Test("1 000 sequential requests are served from the cache with one signature, and the next request after a revocation says revoked")
    func cacheAndInvalidation() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let responder = try await h.responder()
        let coordinator = RevocationCoordinator(ocsp: responder, crlPublisher: nil)
        let client = try OpenSSLOCSPClient(h)
        let leaf = try await h.issue("cached")
        let serial = CAHarness.serialHex(leaf)
        let request = try client.request(serialHex: serial, nonce: false, name: "cached")

        let first = try await responder.respond(toRequest: request)
        let signatures = h.metrics.registry.value("rootkeeper_ocsp_signatures_total")
        for _ in 0..<1_000 {
            #expect(try await responder.respond(toRequest: request) == first)
        }
        #expect(h.metrics.registry.value("rootkeeper_ocsp_signatures_total") == signatures)
        #expect(h.metrics.registry.value("rootkeeper_ocsp_responses_total", labels: ["status": "good"]) == 1_001)

        try await h.revokeInStore(leaf, reason: .cessationOfOperation)
        await coordinator.revocationOccurred(serials: [serial])
        let after = try await responder.respond(toRequest: request)
        let status = try #require(try OCSPResponse(derEncoded: after).basicResponse?.responses.first?.status)
        guard case .revoked(_, let reason) = status else {
            Issue.record("expected revoked, got \(status)")
            return
        }
        #expect(reason == .cessationOfOperation)
        let checked = try client.check(response: after, serialHex: serial, name: "after")
        #expect(checked.stdout.contains("cessationOfOperation"), "\(checked.stdout)")
    }

    @Test("a store that cannot answer gives tryLater, never good (fail closed)")
    func storeFailureFailsClosed() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let flaky = FlakyStore(h.store)
        let responder = try await h.responder(store: flaky)
        try await responder.prepare()
        let leaf = try await h.issue("flaky")
        let hashes = try OCSPIssuerHashes(issuer: h.pki.intermediate)
        let request = TestDER.request(hashes: hashes, serials: [Array(leaf.certificate.serialNumber.bytes)])
        flaky.failure.withLockedValue { $0 = StoreError.unavailable("disk went away") }
        #expect(try await OCSPResponse(derEncoded: responder.respond(toRequest: request)).status == .tryLater)
        flaky.failure.withLockedValue { $0 = StoreError.corrupt("bad row") }
        #expect(try await OCSPResponse(derEncoded: responder.respond(toRequest: request)).status == .internalError)
        flaky.failure.withLockedValue { $0 = nil }
        let good = try #require(try await OCSPResponse(derEncoded: responder.respond(toRequest: request)).basicResponse)
        #expect(good.responses.first?.status == .good)
    }

    @Test("an expired certificate is not reported good")
    func expiredIsNotGood() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let leaf = try await h.issue("old")
        let responder = try await h.responder()
        try await responder.prepare()
        h.pki.clock.set(leaf.certificate.notValidAfter.addingTimeInterval(60))
        let hashes = try OCSPIssuerHashes(issuer: h.pki.intermediate)
        let response = try await responder.respond(toRequest: TestDER.request(hashes: hashes, serials: [Array(leaf.certificate.serialNumber.bytes)]))
        #expect(try OCSPResponse(derEncoded: response).basicResponse?.responses.first?.status == .unknown)
    }
}
