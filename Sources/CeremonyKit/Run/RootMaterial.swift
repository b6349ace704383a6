import Foundation
import PKCS11
import PKICore
import SecureFiles
import X509

/// The root certificate from the media and the root key from the token, both checked against the
/// root the plan pins (docs/identity.md). A token holding another key, or media holding another
/// root, is refused before anything is signed; the refusal names the pinned value and the plan,
/// never the media's value (which is the one under suspicion).
struct RootMaterial {
    let certificate: Certificate
    let key: PKCS11PrivateKey

    /// The root certificate on `media`, checked against the plan's pin and the root database.
    /// Reads only the media: `ceremony check` uses it without a token.
    static func certificate(media: String, pinned: RootKeyReference, database: RootDatabase, planKey: String) throws -> Certificate {
        let identity = try pinned.identity(source: "the plan's \(planKey).spki-sha256")
        let bundlePath = (media as NSString).appendingPathComponent(RootCeremony.bundleDirectory)
        let bundle: MediaBundle
        do {
            bundle = try BundleDirectory.read(from: bundlePath)
        } catch {
            throw CeremonyError.media("the root bundle \(bundlePath) is refused: \(ErrorText.of(error)); restore it from the media copy")
        }
        guard let der = bundle.file("root-ca.der") else {
            throw CeremonyError.media("the root bundle \(bundlePath) has no root-ca.der; restore it from the media copy")
        }
        let certificate = try PEMCodec.certificate(from: der)
        guard identity.match(certificate) != nil else {
            throw CeremonyError.refused(identity.mismatch("the root certificate on the media (\(bundlePath)/root-ca.der)") + "; nothing was signed")
        }
        let identifiers = try CertificateIdentifiers(certificate)
        guard database.root.spkiSHA256 == Hex.encode(identifiers.spkiSHA256) else {
            throw CeremonyError.refused(
                "the media's root database (root-db/root-db.json) belongs to another root key than the pinned root certificate; "
                    + "restore the media from the copy whose root matches the paper log; nothing was signed")
        }
        return certificate
    }

    static func load(context: CeremonyContext, pinned: RootKeyReference, database: RootDatabase, planKey: String) throws -> RootMaterial {
        let certificate = try Self.certificate(media: context.media, pinned: pinned, database: database, planKey: planKey)
        let key: PKCS11PrivateKey
        do {
            key = try context.token.session.privateKey(spkiSHA256: certificate.publicKey.spkiSHA256)
        } catch {
            throw CeremonyError(
                .token,
                "the token \"\(context.token.session.token.label)\" does not hold the pinned root key (\(pinned.spkiSHA256), from the plan's \(planKey).spki-sha256): "
                    + "use the root's token, or check the plan against the paper log (\(ErrorText.of(error)))")
        }
        guard key.label == pinned.label else {
            throw CeremonyError.refused("the pinned root key is labelled \"\(key.label)\" in the token, not \"\(pinned.label)\" as the plan says")
        }
        return RootMaterial(certificate: certificate, key: key)
    }
}
