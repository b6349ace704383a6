import Crypto
import Foundation
import PKICore
import SecureFiles
import X509

/// `ceremony inspect`: a human view of a certificate, CSR, CRL or media bundle with the
/// fingerprints officers compare (SHA-256 of the DER and of the SPKI).
public enum Inspector {
    /// Describes the file or bundle directory at `path`.
    public static func describe(path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CeremonyError.media("\(path) does not exist")
        }
        if isDirectory.boolValue { return try describeBundle(path) }
        let bytes = try SecureFile.read(path, maximumSize: 64 << 20)
        return try describe(bytes: bytes, name: path)
    }

    static func describeBundle(_ path: String) throws -> [String] {
        let bundle: MediaBundle
        do { bundle = try BundleDirectory.read(from: path) } catch {
            throw CeremonyError.media("bundle \(path) is refused: \(error)")
        }
        var lines = ["bundle \(path): MANIFEST verified (\(bundle.files.count) files)"]
        lines += bundle.summary.split(separator: "\n").map { "  | \($0)" }
        for name in bundle.files.keys.sorted() where name != MediaBundle.manifestName && name != MediaBundle.summaryName {
            lines.append("")
            lines += (try? describe(bytes: bundle.files[name] ?? [], name: name)) ?? ["\(name): not a certificate, CSR or CRL"]
        }
        return lines
    }

    static func describe(bytes: [UInt8], name: String) throws -> [String] {
        let text = String(decoding: bytes, as: UTF8.self)
        if text.contains("-----BEGIN CERTIFICATE REQUEST-----") || (try? CSRDecoder.decode(bytes)) != nil,
           let csr = try? CSRDecoder.decode(bytes) {
            return describe(csr: csr, name: name)
        }
        if text.contains("-----BEGIN X509 CRL-----") {
            return try describe(crl: CertificateRevocationList(pemEncoded: text), name: name)
        }
        if let crl = try? CertificateRevocationList(derEncoded: bytes) { return describe(crl: crl, name: name) }
        if text.contains("-----BEGIN CERTIFICATE-----") {
            return try PEMCodec.certificates(fromPEM: text).flatMap { try describe(certificate: $0, name: name) }
        }
        if let certificate = try? PEMCodec.certificate(from: bytes) { return try describe(certificate: certificate, name: name) }
        throw CeremonyError.media("\(name) is not a certificate, CSR or CRL (PEM or DER)")
    }

    static func describe(certificate: Certificate, name: String) throws -> [String] {
        let der = try PEMCodec.der(certificate)
        var lines = [
            "\(name): certificate",
            "  subject:        \(certificate.subject)",
            "  issuer:         \(certificate.issuer)",
            "  serial:         \(Array(certificate.serialNumber.bytes).hexString)",
            "  valid:          \(certificate.notValidBefore) – \(certificate.notValidAfter)",
            "  key:            \(certificate.publicKey.keyAlgorithm.map(String.init(describing:)) ?? "unsupported")",
            "  SPKI SHA-256:   \(certificate.publicKey.spkiSHA256Hex)",
            "  SHA-256:        \(Array(SHA256.hash(data: der)).hexString)",
        ]
        for ext in certificate.extensions {
            lines.append("  extension:      \(ext.oid)\(ext.critical ? " (critical)" : ""): \(describe(extension: ext))")
        }
        return lines
    }

    /// The key identifiers officers compare with `openssl x509 -text` are printed as two hex
    /// digits per octet: the library's own description drops the leading zero of an octet
    /// below 0x10 (0x0d prints as "d"), which makes a correct identifier look wrong.
    static func describe(extension ext: Certificate.Extension) -> String {
        if let ski = try? SubjectKeyIdentifier(ext) {
            return "SubjectKeyIdentifier(\(Array(ski.keyIdentifier).hexString))"
        }
        if let aki = try? AuthorityKeyIdentifier(ext), let keyID = aki.keyIdentifier {
            return "AuthorityKeyIdentifier(keyID \(Array(keyID).hexString))"
        }
        return "\(ext)"
    }

    static func describe(csr: CertificateSigningRequest, name: String) -> [String] {
        var lines = [
            "\(name): certificate signing request",
            "  subject:        \(csr.subject)",
            "  key:            \(csr.publicKey.keyAlgorithm.map(String.init(describing:)) ?? "unsupported")",
            "  SPKI SHA-256:   \(csr.publicKey.spkiSHA256Hex)",
            "  signature:      \(csr.publicKey.isValidSignature(csr.signature, for: csr) ? "valid (proof of possession)" : "INVALID")",
        ]
        switch CSRPolicy(purpose: .intermediateCA).evaluate(csr) {
        case .accept(let review): lines += review.requestedExtensions.map { "  requests:       \($0)" }
        case .reject(let reason): lines.append("  policy:         would be refused: \(reason)")
        }
        return lines
    }

    static func describe(crl: CertificateRevocationList, name: String) -> [String] {
        let tbs = crl.tbsCertList
        var lines = [
            "\(name): certificate revocation list",
            "  issuer:         \(tbs.issuer)",
            "  CRL number:     \(tbs.crlNumber)",
            "  this update:    \(tbs.thisUpdate)",
            "  next update:    \(tbs.nextUpdate)",
            "  entries:        \(tbs.revokedCertificates.count)",
            "  SHA-256:        \(Array(SHA256.hash(data: crl.derEncoded)).hexString)",
        ]
        for entry in tbs.revokedCertificates.prefix(50) {
            lines.append("  revoked:        \(Array(entry.serialNumber.bytes).hexString) \(entry.revocationDate) \(entry.reason?.name ?? "")")
        }
        return lines
    }
}
