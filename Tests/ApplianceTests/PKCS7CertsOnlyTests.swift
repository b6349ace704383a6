import Foundation
import PKICore
import TestSupport
import Testing
import X509

@Suite("PKCS#7 certs-only encoding (RFC 7030 §4.1.3)")
struct PKCS7CertsOnlyTests {
    @Test("what we encode, openssl pkcs7 reads back with every certificate, and we decode it again")
    func roundTripWithOpenSSL() async throws {
        let pki = try await TestPKI.make(rootAlgorithm: .p256)
        let message = PKCS7CertsOnly(certificates: [pki.intermediate, pki.root])
        let directory = try TemporaryDirectory("pkcs7")
        defer { directory.remove() }
        let file = directory.file("certs.p7")
        try Data(try message.derEncoded()).write(to: URL(fileURLWithPath: file))
        let printed = try await ExternalTool("openssl").runAsync(["pkcs7", "-inform", "DER", "-in", file, "-print_certs", "-noout"])
        #expect(printed.succeeded, "\(printed.output)")
        #expect(printed.stdout.contains("Test Intermediate CA"))
        #expect(printed.stdout.contains("Test Root CA"))

        let decoded = try PKCS7CertsOnly(base64Encoded: try message.base64Encoded())
        #expect(Set(decoded.certificates) == Set([pki.intermediate, pki.root]))
    }

    @Test("a certs-only message made by openssl crl2pkcs7 decodes to its certificates")
    func decodesOpenSSLOutput() async throws {
        let pki = try await TestPKI.make(rootAlgorithm: .p256)
        let directory = try TemporaryDirectory("pkcs7")
        defer { directory.remove() }
        let pem = directory.file("chain.pem")
        let out = directory.file("out.p7")
        try pki.chainPEM.write(toFile: pem, atomically: true, encoding: .utf8)
        let made = try await ExternalTool("openssl").runAsync(["crl2pkcs7", "-nocrl", "-certfile", pem, "-outform", "DER", "-out", out])
        #expect(made.succeeded, "\(made.output)")
        let decoded = try PKCS7CertsOnly(derEncoded: [UInt8](try Data(contentsOf: URL(fileURLWithPath: out))))
        #expect(decoded.certificates.count == 2)
        #expect(decoded.certificates.contains(pki.root))
    }

    @Test(
        "garbage and non-certs-only input is refused with a malformedInput error",
        arguments: [
            [UInt8](), [0x30, 0x03, 0x02, 0x01, 0x01], [UInt8]("hello".utf8),
        ])
    func refusesGarbage(bytes: [UInt8]) {
        let error = #expect(throws: PKIError.self) { try PKCS7CertsOnly(derEncoded: bytes) }
        #expect(error?.code == .malformedInput)
    }
}
