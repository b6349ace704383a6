import Foundation
import SwiftASN1
import X509

/// PEM (RFC 7468) and DER reading and writing for certificates, chains, CSRs and public keys.
/// Every reader is bounded and turns bad input into `PKIError.malformed`.
public enum PEMCodec {
    /// Largest PEM/DER input accepted (a chain of a few certificates is far below this).
    public static let maximumInputSize = 1 << 20

    // MARK: Certificates

    /// One certificate as PEM.
    public static func pem(_ certificate: Certificate) throws -> String {
        try certificate.serializeAsPEM().pemString + "\n"
    }

    /// One certificate as DER.
    public static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    /// Several certificates concatenated as PEM (leaf first, by convention).
    public static func pemChain(_ certificates: [Certificate]) throws -> String {
        try certificates.map { try pem($0) }.joined()
    }

    /// A certificate from PEM or DER.
    public static func certificate(from bytes: [UInt8]) throws -> Certificate {
        let der = try derBytes(from: bytes, label: "CERTIFICATE")
        do { return try Certificate(derEncoded: der) } catch {
            throw PKIError.malformed("not a valid X.509 certificate: \(error)")
        }
    }

    /// Every certificate in a PEM bundle, in order. Refuses an input with none.
    public static func certificates(fromPEM text: String) throws -> [Certificate] {
        guard text.utf8.count <= maximumInputSize else { throw PKIError.malformed("certificate bundle exceeds \(maximumInputSize) bytes") }
        let documents: [PEMDocument]
        do { documents = try PEMDocument.parseMultiple(pemString: text) } catch {
            throw PKIError.malformed("not a PEM certificate bundle: \(error)")
        }
        let certificates = try documents.filter { $0.discriminator == "CERTIFICATE" }.map { document in
            do { return try Certificate(derEncoded: document.derBytes) } catch {
                throw PKIError.malformed("a certificate in the bundle is not valid X.509: \(error)")
            }
        }
        guard !certificates.isEmpty else { throw PKIError.malformed("no CERTIFICATE block in the bundle") }
        return certificates
    }

    // MARK: CSRs

    /// A CSR as PEM (`CERTIFICATE REQUEST`).
    public static func pem(_ csr: CertificateSigningRequest) throws -> String {
        try csr.serializeAsPEM().pemString + "\n"
    }

    /// A CSR as DER.
    public static func der(_ csr: CertificateSigningRequest) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(csr)
        return serializer.serializedBytes
    }

    // MARK: Public keys

    /// A public key as PEM (`PUBLIC KEY`, SubjectPublicKeyInfo).
    public static func pem(_ publicKey: Certificate.PublicKey) throws -> String {
        try publicKey.serializeAsPEM().pemString + "\n"
    }

    /// A public key from PEM or DER SubjectPublicKeyInfo.
    public static func publicKey(from bytes: [UInt8]) throws -> Certificate.PublicKey {
        let der = try derBytes(from: bytes, label: "PUBLIC KEY")
        do { return try Certificate.PublicKey(derEncoded: der) } catch {
            throw PKIError.malformed("not a supported SubjectPublicKeyInfo: \(error)")
        }
    }

    // MARK: Shared

    /// DER bytes from either DER or a PEM block with `label`. Input that starts with `-----BEGIN`
    /// is treated as PEM; anything else as DER.
    public static func derBytes(from bytes: [UInt8], label: String) throws -> [UInt8] {
        guard !bytes.isEmpty else { throw PKIError.malformed("empty input where a \(label) was expected") }
        guard bytes.count <= maximumInputSize else { throw PKIError.malformed("\(label) input exceeds \(maximumInputSize) bytes") }
        let trimmed = bytes.drop(while: { $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 })
        guard trimmed.starts(with: Array("-----BEGIN".utf8)) else { return bytes }
        guard let text = String(bytes: trimmed, encoding: .utf8) else { throw PKIError.malformed("PEM input is not UTF-8 text") }
        do {
            let document = try PEMDocument(pemString: text)
            guard document.discriminator == label else {
                throw PKIError.malformed("PEM block is '\(document.discriminator)', expected '\(label)'")
            }
            return document.derBytes
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError.malformed("not a valid PEM \(label) block: \(error)")
        }
    }
}
