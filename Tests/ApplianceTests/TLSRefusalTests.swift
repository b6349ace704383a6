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
                let rsa = try await Tool.run("openssl", ["s_client", "-connect", target, "-tls1_2", "-cipher", cipher, "-CAfile", app.chainFile], stdin: Data())
                #expect(!rsa.succeeded, "\(cipher) was accepted: \(rsa.output)")
                #expect(rsa.output.contains("Cipher is (NONE)") || rsa.output.contains("handshake failure"), "\(rsa.output)")
            }
        }
    }
}
