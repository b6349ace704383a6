import Crypto
import Foundation
import PKICore
import SecureFiles
import X509

/// What the root has signed that lies on the media: every root CRL (`*/root.crl`, `*/*.crl`) and
/// every certificate (`*/*.crt`, PEM) whose signature verifies with the root certificate's key.
///
/// Files that do not verify are ignored (the media may hold anything); what verifies cannot have
/// been made without the root key, so it bounds how old a genuine root database may be: a
/// database that does not know a CRL number or an intermediate the root demonstrably signed is
/// older than the media, and is refused (``RootDatabaseCheck``). Recovery rebuilds from the same
/// scan.
struct RootArtefacts {
    struct FoundCRL {
        let path: String
        let crl: CertificateRevocationList
        var number: Int { Int(clamping: crl.tbsCertList.crlNumber.uint64Value ?? UInt64.max) }
    }

    struct FoundCertificate {
        let path: String
        let certificate: Certificate
        var serialHex: String { Array(certificate.serialNumber.bytes).hexString }
    }

    var crls: [FoundCRL] = []
    var certificates: [FoundCertificate] = []

    /// The root CRL with the highest number, if any.
    var newestCRL: FoundCRL? { crls.max { $0.number < $1.number } }

    /// Scans the directories directly below `media` (bundle directories; the root's own bundle is
    /// skipped for certificates, since the root is not something it issued).
    static func scan(media: String, root: Certificate) -> RootArtefacts {
        var found = RootArtefacts()
        let manager = FileManager.default
        let directories = ((try? manager.contentsOfDirectory(atPath: media)) ?? []).sorted()
        var seenSerials = Set<String>()
        for directory in directories {
            let directoryPath = (media as NSString).appendingPathComponent(directory)
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: directoryPath, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            for name in ((try? manager.contentsOfDirectory(atPath: directoryPath)) ?? []).sorted() {
                let path = (directoryPath as NSString).appendingPathComponent(name)
                guard let bytes = manager.contents(atPath: path) else { continue }
                if name.hasSuffix(".crl") {
                    guard let crl = try? CertificateRevocationList(derEncoded: [UInt8](bytes)), crl.isSignatureValid(for: root) else { continue }
                    found.crls.append(FoundCRL(path: path, crl: crl))
                } else if name.hasSuffix(".crt"), directory != RootCeremony.bundleDirectory {
                    let text = String(decoding: bytes, as: UTF8.self)
                    for certificate in (try? PEMCodec.certificates(fromPEM: text)) ?? [] {
                        guard certificate != root, certificate.issuer == root.subject,
                            root.publicKey.isValidSignature(certificate.signature, for: certificate)
                        else { continue }
                        let found1 = FoundCertificate(path: path, certificate: certificate)
                        guard seenSerials.insert(found1.serialHex).inserted else { continue }
                        found.certificates.append(found1)
                    }
                }
            }
        }
        return found
    }
}

extension RootArtefacts {
    /// The root certificate from the media's root bundle (MANIFEST checked).
    static func rootCertificate(media: String) throws -> Certificate {
        let bundle: MediaBundle
        do {
            bundle = try BundleDirectory.read(from: (media as NSString).appendingPathComponent(RootCeremony.bundleDirectory))
        } catch {
            throw CeremonyError.media("the root bundle on the media is refused: \(ErrorText.of(error))")
        }
        guard let der = bundle.file("root-ca.der") else { throw CeremonyError.media("the root bundle has no root-ca.der") }
        return try PEMCodec.certificate(from: der)
    }
}
