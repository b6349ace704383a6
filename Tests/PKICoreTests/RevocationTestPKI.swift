import Crypto
import Foundation
import PKICore
import SwiftASN1
import TestSupport
import X509
import _CryptoExtras

/// A small PKI generated at run time for the CRL and OCSP tests: a self-signed CA (P-256 or
/// RSA-2048), two leaves it issued, and optionally a delegated OCSP signer.
struct RevocationTestPKI {
    let caKey: Certificate.PrivateKey
    let ca: Certificate
    let leaf: Certificate
    let otherLeaf: Certificate
    let ocspSignerKey: Certificate.PrivateKey
    let ocspSigner: Certificate
    let now: Date

    enum KeyKind { case p256, rsa2048 }

    /// 2026-06-01T12:00:00Z: a fixed instant so tests are repeatable.
    static let fixedNow = Date(timeIntervalSince1970: 1_780_315_200)

    init(_ kind: KeyKind = .p256, name: String = "Revocation Test CA") throws {
        let now = Self.fixedNow
        let caKey: Certificate.PrivateKey
        switch kind {
        case .p256: caKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        case .rsa2048: caKey = Certificate.PrivateKey(try _RSA.Signing.PrivateKey(keySize: .bits2048))
        }
        self.now = now
        self.caKey = caKey
        let caName = try DistinguishedName {
            CountryName("DE")
            OrganizationName("Rootkeeper Tests")
            CommonName(name)
        }
        let caSKI = SubjectKeyIdentifier(hash: caKey.publicKey)
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(bytes: [0x01, 0x23]), publicKey: caKey.publicKey,
            notValidBefore: now - 86_400, notValidAfter: now + 365 * 86_400, issuer: caName, subject: caName,
            signatureAlgorithm: kind == .p256 ? .ecdsaWithSHA256 : .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                caSKI
            },
            issuerPrivateKey: caKey)
        self.ca = ca

        func issue(_ cn: String, serial: [UInt8], key: Certificate.PrivateKey, eku: ExtendedKeyUsage.Usage?) throws -> Certificate {
            try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(bytes: serial), publicKey: key.publicKey,
                notValidBefore: now - 3600, notValidAfter: now + 90 * 86_400, issuer: caName,
                subject: try DistinguishedName {
                    OrganizationName("Rootkeeper Tests")
                    CommonName(cn)
                },
                signatureAlgorithm: kind == .p256 ? .ecdsaWithSHA256 : .sha256WithRSAEncryption,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    SubjectKeyIdentifier(hash: key.publicKey)
                    AuthorityKeyIdentifier(keyIdentifier: caSKI.keyIdentifier)
                    if let eku { try ExtendedKeyUsage([eku]) }
                },
                issuerPrivateKey: caKey)
        }
        leaf = try issue(
            "leaf-revoked", serial: [0x4A, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77], key: Certificate.PrivateKey(P256.Signing.PrivateKey()),
            eku: .clientAuth)
        otherLeaf = try issue(
            "leaf-good", serial: [0x5B, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07], key: Certificate.PrivateKey(P256.Signing.PrivateKey()),
            eku: .clientAuth)
        ocspSignerKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        ocspSigner = try issue("ocsp-signer", serial: [0x6C, 0x99], key: ocspSignerKey, eku: .ocspSigning)
    }

    /// Writes `certificate` as PEM to `path`.
    static func writePEM(_ certificate: Certificate, to path: String) throws {
        try certificate.serializeAsPEM().pemString.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func hex(_ serial: Certificate.SerialNumber) -> String {
        serial.bytes.map { String(format: "%02X", $0) }.joined()
    }

    /// A TBSCertList for this CA at `now` with a one-day nextUpdate.
    func tbs(entries: [RevokedCertificate], number: UInt64 = 7, idp: IssuingDistributionPoint? = nil) throws -> TBSCertList {
        try TBSCertList(
            issuerCertificate: ca, thisUpdate: now, nextUpdate: now + 86_400, revokedCertificates: entries,
            crlNumber: CRLNumber(number), issuingDistributionPoint: idp)
    }
}

/// Runs `body` with a fresh temporary directory that is removed afterwards.
func withTemporaryDirectory<T>(_ body: (TemporaryDirectory) async throws -> T) async throws -> T {
    let directory = try TemporaryDirectory("rootkeeper-revocation")
    defer { directory.remove() }
    return try await body(directory)
}
