import NIOConcurrencyHelpers
import NIOSSL
import SwiftASN1
import X509

/// The HTTPS listener's current TLS context. Rotation (docs/lifecycle.md#server-certificate-rotation: the server certificate is
/// re-issued 30 days before expiry without a restart) builds a new `NIOSSLContext` and swaps it in
/// atomically; every *new* connection picks up the current one in ``RotatingTLSChannel``, while
/// established connections keep the context they were created with.
public final class ServerCertificateHolder: Sendable {
    private let box: NIOLockedValueBox<NIOSSLContext>
    private let trust: ClientTrust

    /// - Parameters:
    ///   - chainPEM: the server certificate followed by its intermediate(s), PEM.
    ///   - keyPEM: the server private key, PEM.
    ///   - trust: whose root is advertised as acceptable client CA.
    public init(chainPEM: [UInt8], keyPEM: [UInt8], trust: ClientTrust) throws {
        self.trust = trust
        self.box = NIOLockedValueBox(try Self.makeContext(chainPEM: chainPEM, keyPEM: keyPEM, trust: trust))
    }

    /// The context used for connections accepted from now on.
    public var current: NIOSSLContext { box.withLockedValue { $0 } }

    /// Installs a new certificate and key; new handshakes use it immediately.
    public func rotate(chainPEM: [UInt8], keyPEM: [UInt8]) throws {
        let context = try Self.makeContext(chainPEM: chainPEM, keyPEM: keyPEM, trust: trust)
        box.withLockedValue { $0 = context }
    }

    /// TLS policy of the HTTPS listener: TLS 1.2 minimum; for 1.2 only ECDHE key exchange with
    /// AEAD ciphers (forward secrecy, no CBC); TLS 1.3 suites are all AEAD + (EC)DHE by design;
    /// renegotiation off; client certificates requested but optional at the TLS layer — routes
    /// that need one enforce it, so EST enrolment without a certificate still works.
    static func makeContext(chainPEM: [UInt8], keyPEM: [UInt8], trust: ClientTrust) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(chainPEM)
            key = try NIOSSLPrivateKey(bytes: keyPEM, format: .pem)
        } catch {
            throw ApplianceError.stateDirectory("server certificate or key cannot be loaded: \(error)")
        }
        guard !chain.isEmpty else { throw ApplianceError.stateDirectory("server certificate chain is empty") }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        tls.cipherSuiteValues = [
            .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ]
        tls.renegotiationSupport = .none
        tls.certificateVerification = .optionalVerification
        let rootDER = try trust.root.derBytes()
        tls.trustRoots = .certificates([try NIOSSLCertificate(bytes: rootDER, format: .der)])
        tls.sendCANameList = true
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw ApplianceError.stateDirectory("TLS context cannot be built from the server certificate: \(error)")
        }
    }
}

extension Certificate {
    func derBytes() throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(self)
        return serializer.serializedBytes
    }
}
