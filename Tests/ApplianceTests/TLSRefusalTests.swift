import ApplianceKit
import Foundation
import TestSupport
import Testing

/// The rest of the TLS refusal matrix (issue 7), with `openssl s_client` as the independent
/// client: no RSA key exchange (no forward secrecy), no renegotiation, no compression. TLS 1.1,
/// CBC-only and missing client certificates are covered in ``MutualTLSTests``.
@Suite("TLS refusal matrix with openssl s_client")
struct TLSRefusalTests {
    @Test("a client offering only RSA key exchange (no forward secrecy) is refused")
    func rsaKeyExchangeRefused() async throws {
        try await RunningAppliance.with { app in
            let target = "127.0.0.1:\(app.httpsPort)"
            for cipher in ["AES128-GCM-SHA256", "AES256-GCM-SHA384"] {
                let rsa = try await ExternalTool("openssl").runAsync(
                    ["s_client", "-connect", target, "-tls1_2", "-cipher", cipher, "-CAfile", app.chainFile], stdin: Data())
                #expect(!rsa.succeeded, "\(cipher) was accepted: \(rsa.output)")
                #expect(rsa.output.contains("Cipher is (NONE)") || rsa.output.contains("handshake failure"), "\(rsa.output)")
            }
        }
    }

    @Test("TLS 1.2 renegotiation requested by the client is refused and compression is never negotiated")
    func noRenegotiationNoCompression() async throws {
        try await RunningAppliance.with { app in
            let target = "127.0.0.1:\(app.httpsPort)"
            // `R` on s_client's stdin asks for a renegotiation on the established connection;
            // -comp offers TLS compression (which the server must not select).
            let renegotiate = try await ExternalTool("openssl").runAsync(
                ["s_client", "-connect", target, "-tls1_2", "-comp", "-CAfile", app.chainFile],
                stdin: Data("R\n".utf8), timeout: 30)
            #expect(renegotiate.output.contains("Compression: NONE"), "\(renegotiate.output)")
            let attempt = try #require(renegotiate.output.range(of: "RENEGOTIATING"), "s_client did not try: \(renegotiate.output)")
            let after = renegotiate.output[attempt.upperBound...]
            // The server drops the connection instead of a second handshake: s_client reports an
            // error and never verifies the server certificate a second time.
            #expect(after.contains("error:"), "\(after)")
            #expect(!after.contains("verify return:"), "a renegotiation handshake took place: \(after)")
        }
    }
}
