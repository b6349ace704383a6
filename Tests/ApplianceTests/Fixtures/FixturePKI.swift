import Crypto
import Foundation
import SwiftASN1
import X509

/// A throwaway two-tier PKI generated at run time (docs/conventions.md#test-pki-at-run-time): P-256 root and intermediate, a
/// server certificate for 127.0.0.1/localhost, and agent certificates issued from CSRs.
final class FixturePKI: Sendable {
    let rootKey: P256.Signing.PrivateKey
    let intermediateKey: P256.Signing.PrivateKey
    let root: Certificate
    let intermediate: Certificate
    let now: Date

    init() throws {
        let rootKey = P256.Signing.PrivateKey(), intermediateKey = P256.Signing.PrivateKey(), now = Date()
        self.rootKey = rootKey
        self.intermediateKey = intermediateKey
        self.now = now
        let rootName = try DistinguishedName { OrganizationName("Rootkeeper Test"); CommonName("Test Root CA") }
        let intermediateName = try DistinguishedName { OrganizationName("Rootkeeper Test"); CommonName("Test Intermediate CA") }
        let root = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(rootKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86400 * 365,
            issuer: rootName, subject: rootName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: Certificate.PublicKey(rootKey.publicKey))
            },
            issuerPrivateKey: .init(rootKey))
        self.root = root
        intermediate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(intermediateKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86400 * 300,
            issuer: rootName, subject: intermediateName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: Certificate.PublicKey(intermediateKey.publicKey))
                AuthorityKeyIdentifier(keyIdentifier: try root.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: .init(rootKey))
    }

    /// Issues a leaf from the intermediate.
    func issue(
        publicKey: Certificate.PublicKey, subject: DistinguishedName, usage: ExtendedKeyUsage.Usage,
        sans: [GeneralName], validity: TimeInterval = 86400 * 90
    ) throws -> Certificate {
        try Certificate(
            version: .v3, serialNumber: .init(), publicKey: publicKey,
            notValidBefore: now - 60, notValidAfter: now + validity,
            issuer: intermediate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([usage])
                SubjectAlternativeNames(sans)
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: try intermediate.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: .init(intermediateKey))
    }

    /// A server certificate + key (PEM chain, PEM key) for 127.0.0.1 and localhost.
    func serverCredentials(commonName: String = "appliance.test") throws -> (chainPEM: [UInt8], keyPEM: [UInt8], certificate: Certificate) {
        let key = P256.Signing.PrivateKey()
        let certificate = try issue(
            publicKey: .init(key.publicKey), subject: try DistinguishedName { CommonName(commonName) },
            usage: .serverAuth,
            sans: [.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
        let chain = try certificate.serializeAsPEM().pemString + "\n" + intermediate.serializeAsPEM().pemString + "\n"
        return (Array(chain.utf8), Array(key.pemRepresentation.utf8), certificate)
    }

    /// An agent certificate issued directly (no CSR) with its PEM key.
    func agentCredentials(hostname: String, uuid: String = UUID().uuidString.lowercased()) throws -> (certificate: Certificate, keyPEM: String) {
        let key = P256.Signing.PrivateKey()
        let certificate = try issue(
            publicKey: .init(key.publicKey),
            subject: try DistinguishedName { CommonName("agent-\(hostname)-\(uuid)") },
            usage: .clientAuth,
            sans: [.dnsName(hostname), .uniformResourceIdentifier("urn:uuid:\(uuid)")])
        return (certificate, key.pemRepresentation)
    }

    var chainPEM: String {
        get throws { try intermediate.serializeAsPEM().pemString + "\n" + root.serializeAsPEM().pemString + "\n" }
    }
}

extension Certificate {
    var pem: String { get throws { try serializeAsPEM().pemString + "\n" } }
}
