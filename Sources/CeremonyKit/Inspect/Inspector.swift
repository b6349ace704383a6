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
            throw CeremonyError.media("\(path) does not exist: give a certificate, CSR or CRL file (PEM or DER) or a bundle directory on the media")
        }
        if isDirectory.boolValue { return try describeBundle(path) }
        let bytes = try SecureFile.read(path, maximumSize: 64 << 20)
        return try describe(bytes: bytes, name: path)
    }

    static func describeBundle(_ path: String) throws -> [String] {
        let bundle: MediaBundle
        do { bundle = try BundleDirectory.read(from: path) } catch {
            throw CeremonyError.media("bundle \(path) is refused: \(ErrorText.of(error))")
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
            let csr = try? CSRDecoder.decode(bytes)
        {
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

    /// `label:` padded so the values line up (the labels of docs/identity.md).
    static func field(_ label: String, _ value: String) -> String {
        "  " + (label + ":").padding(toLength: 21, withPad: " ", startingAt: 0) + value
    }

    /// Serials and key identifiers are printed as plain lower-case hex, two digits for every
    /// octet and no separators (docs/identity.md): the library's own description drops the
    /// leading zero of an octet below 0x10 (0x0d prints as "d"), which makes a correct value look
    /// wrong next to openssl's. A serial keeps a leading 00 octet (a positive DER INTEGER).
    static func describe(certificate: Certificate, name: String) throws -> [String] {
        let identifiers = try CertificateIdentifiers(certificate)
        var lines = [
            "\(name): certificate",
            field("subject", "\(certificate.subject)"),
            field("issuer", "\(certificate.issuer)"),
            field("serial", certificate.serialNumber.hex),
            field("valid", "\(certificate.notValidBefore) – \(certificate.notValidAfter)"),
            field("key", certificate.publicKey.keyAlgorithm.map(String.init(describing:)) ?? "unsupported"),
            field("certificate SHA-256", Hex.encode(identifiers.certificateSHA256)),
            field("SPKI SHA-256", Hex.encode(identifiers.spkiSHA256)),
            field("agent pin", identifiers.agentPin),
        ]
        if let ski = try? certificate.extensions.subjectKeyIdentifier {
            lines.append(field("subject key ID", Hex.encode(ski.keyIdentifier)))
        }
        if let aki = try? certificate.extensions.authorityKeyIdentifier, let keyID = aki.keyIdentifier {
            lines.append(field("authority key ID", Hex.encode(keyID)))
        }
        for ext in certificate.extensions {
            lines.append(field("extension", "\(ext.oid)\(ext.critical ? " (critical)" : ""): \(describe(extension: ext))"))
        }
        return lines
    }

    static func describe(extension ext: Certificate.Extension) -> String {
        if let ski = try? SubjectKeyIdentifier(ext) {
            return "SubjectKeyIdentifier(\(Hex.encode(ski.keyIdentifier)))"
        }
        if let aki = try? AuthorityKeyIdentifier(ext), let keyID = aki.keyIdentifier {
            return "AuthorityKeyIdentifier(keyID \(Hex.encode(keyID)))"
        }
        return "\(ext)"
    }

    static func describe(csr: CertificateSigningRequest, name: String) -> [String] {
        var lines = [
            "\(name): certificate signing request",
            field("subject", "\(csr.subject)"),
            field("key", csr.publicKey.keyAlgorithm.map(String.init(describing:)) ?? "unsupported"),
            field("SPKI SHA-256", csr.publicKey.spkiSHA256Hex),
            field("signature", csr.publicKey.isValidSignature(csr.signature, for: csr) ? "valid (proof of possession)" : "INVALID"),
        ]
        switch CSRPolicy(purpose: .intermediateCA).evaluate(csr) {
        case .accept(let review): lines += review.requestedExtensions.map { field("requests", "\($0)") }
        case .reject(let reason): lines.append(field("policy", "would be refused: \(reason)"))
        }
        return lines
    }

    static func describe(crl: CertificateRevocationList, name: String) -> [String] {
        let tbs = crl.tbsCertList
        var lines = [
            "\(name): certificate revocation list",
            field("issuer", "\(tbs.issuer)"),
            field("CRL number", tbs.crlNumber.uint64Value.map(String.init) ?? "\(tbs.crlNumber)"),
            field("this update", "\(tbs.thisUpdate)"),
            field("next update", "\(tbs.nextUpdate)"),
            field("entries", "\(tbs.revokedCertificates.count)"),
            field("CRL SHA-256", Hex.encode(SHA256.hash(data: crl.derEncoded))),
        ]
        for entry in tbs.revokedCertificates.prefix(50) {
            lines.append(field("revoked", "\(entry.serialNumber.hex) \(entry.revocationDate) \(entry.reason?.name ?? "")"))
        }
        return lines
    }
}
