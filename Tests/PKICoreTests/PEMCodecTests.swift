import Foundation
import PKICore
import TestSupport
import Testing
import X509

@Suite("PEM and DER encoding")
struct PEMCodecTests {
    @Test("A chain written as PEM reads back in order, and DER round-trips a certificate")
    func chainRoundTrip() async throws {
        let pki = try await TestPKI.make()
        let chain = try PEMCodec.certificates(fromPEM: PEMCodec.pemChain([pki.intermediate, pki.root]))
        #expect(chain == [pki.intermediate, pki.root])
        #expect(try PEMCodec.certificate(from: PEMCodec.der(pki.root)) == pki.root)
    }

    @Test("A certificate openssl made is read from PEM and from DER")
    func readsOpenSSLCertificate() throws {
        let directory = try TemporaryDirectory("pem")
        defer { directory.remove() }
        let openssl = try OpenSSL.tool()
        let made = try openssl.run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", directory.file("k.pem"),
            "-subj", "/CN=openssl-made", "-days", "1", "-out", directory.file("c.pem"),
        ])
        #expect(made.succeeded, "\(made.output)")
        #expect(try openssl.run(["x509", "-in", directory.file("c.pem"), "-outform", "DER", "-out", directory.file("c.der")]).succeeded)
        let fromPEM = try PEMCodec.certificate(from: Array(try Data(contentsOf: URL(fileURLWithPath: directory.file("c.pem")))))
        let fromDER = try PEMCodec.certificate(from: Array(try Data(contentsOf: URL(fileURLWithPath: directory.file("c.der")))))
        #expect(fromPEM == fromDER)
        #expect(SubjectName.commonName(of: fromPEM.subject) == "openssl-made")
    }

    @Test("A PEM block of the wrong type is refused with its label in the reason")
    func wrongLabelRefused() async throws {
        let pki = try await TestPKI.make()
        let publicKeyPEM = try PEMCodec.pem(pki.root.publicKey)
        #expect(throws: PKIError.malformed("PEM block is 'PUBLIC KEY', expected 'CERTIFICATE'")) {
            _ = try PEMCodec.certificate(from: Array(publicKeyPEM.utf8))
        }
        #expect(try PEMCodec.publicKey(from: Array(publicKeyPEM.utf8)) == pki.root.publicKey)
    }
}
