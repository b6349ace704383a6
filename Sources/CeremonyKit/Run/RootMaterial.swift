import Foundation
import PKCS11
import PKICore
import SecureFiles
import X509

/// The root certificate from the media and the root key from the token, both checked against the
/// SPKI SHA-256 the plan pins. A token holding another key, or media holding another root, is
/// refused before anything is signed.
struct RootMaterial {
    let certificate: Certificate
    let key: PKCS11PrivateKey

    static func load(context: CeremonyContext, pinned: RootKeyReference, database: RootDatabase) throws -> RootMaterial {
        let pin = pinned.spkiSHA256.lowercased()
        guard database.root.spkiSHA256 == pin else {
            throw CeremonyError.refused("the plan pins root key \(pin) but the media's root database belongs to \(database.root.spkiSHA256)")
        }
        let bundle: MediaBundle
        do {
            bundle = try BundleDirectory.read(from: context.path(RootCeremony.bundleDirectory))
        } catch {
            throw CeremonyError.media("the root bundle on the media is refused: \(error)")
        }
        guard let der = bundle.file("root-ca.der") else { throw CeremonyError.media("the root bundle has no root-ca.der") }
        let certificate = try PEMCodec.certificate(from: der)
        guard certificate.publicKey.spkiSHA256Hex == pin else {
            throw CeremonyError.refused("the root certificate on the media does not carry the pinned key \(pin)")
        }
        let key: PKCS11PrivateKey
        do {
            key = try context.token.session.privateKey(spkiSHA256: Hex.decode(pin, typed: true) ?? [])
        } catch {
            throw CeremonyError(.token, "the token does not hold the pinned root key \(pin): \(error)")
        }
        guard key.label == pinned.label else {
            throw CeremonyError.refused("the pinned root key is labelled \"\(key.label)\" in the token, not \"\(pinned.label)\" as the plan says")
        }
        return RootMaterial(certificate: certificate, key: key)
    }
}
