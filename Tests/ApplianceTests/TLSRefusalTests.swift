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
            let renegotiate = try await Self.renegotiate(port: app.httpsPort, caFile: app.chainFile)
            #expect(renegotiate.output.contains("Compression: NONE"), "\(renegotiate.output)")
            #expect(renegotiate.refused, "\(renegotiate.output)")
        }
    }

    /// `openssl s_client -tls1_2 -comp` to `port`, then `R` on its stdin, which asks for a
    /// renegotiation on the established connection (-comp offers TLS compression, which the
    /// server must not select). `refused`: s_client tried, and the server dropped the connection
    /// instead of a second handshake — s_client reports an error and never verifies the server
    /// certificate a second time.
    static func renegotiate(port: Int, caFile: String, environment: [String: String] = [:]) async throws -> (refused: Bool, output: String) {
        let result = try await ExternalTool("openssl").runAsync(
            ["s_client", "-connect", "127.0.0.1:\(port)", "-tls1_2", "-comp", "-CAfile", caFile],
            stdin: Data("R\n".utf8), environment: environment, timeout: 30)
        guard let attempt = result.output.range(of: "RENEGOTIATING") else { return (false, result.output) }
        let after = result.output[attempt.upperBound...]
        return (after.contains("error:") && !after.contains("verify return:"), result.output)
    }
}
