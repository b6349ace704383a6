import Crypto
import Foundation
import PKICore
import SecureFiles
import SwiftASN1

/// What opens (or seals) an archive: a passphrase (scrypt), or a recipient's X25519 key pair
/// (`backup create --recipient PUB.pem`, `verify|restore --identity KEY.pem`), so backups can be
/// written unattended on the appliance without any secret that opens them being present there.
///
/// Recipient archives: the writer makes an ephemeral X25519 key (RFC 7748), stores its public half
/// in the header's salt field, and derives the AEAD key as
/// `HKDF-SHA256(ikm: X25519(ephemeral, recipient), salt: ephemeralPublic ‖ recipientPublic,
/// info: "rootkeeper-backup-v1", 32)` (RFC 5869) — the ECIES shape of HPKE's DHKEM (RFC 9180 §4.1).
public enum BackupKeyMaterial: Sendable {
    case passphrase(SecretBytes)
    /// Seal to this recipient (create only).
    case recipient(Curve25519.KeyAgreement.PublicKey)
    /// The recipient's private key (verify, restore).
    case identity(Curve25519.KeyAgreement.PrivateKey)

    static let info = Array("rootkeeper-backup-v1".utf8)
    // DER prefixes of X25519 SubjectPublicKeyInfo and PKCS#8 PrivateKeyInfo (RFC 8410 §4, §7;
    // OID 1.3.101.110), each followed by exactly the 32 key bytes.
    static let spkiPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]
    static let pkcs8Prefix: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]

    /// Reads an X25519 public key (PEM `PUBLIC KEY`, as `openssl pkey -pubout` writes it).
    public static func recipient(pemFile path: String) throws -> BackupKeyMaterial {
        let der = try pemDER(path, label: "PUBLIC KEY")
        guard der.count == spkiPrefix.count + 32, Array(der.prefix(spkiPrefix.count)) == spkiPrefix,
            let key = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: der.suffix(32))
        else {
            throw ApplianceError.unavailable(
                "\(path) is not an X25519 public key (make one with: openssl genpkey -algorithm X25519 -out backup.key && openssl pkey -in backup.key -pubout -out backup.pub)"
            )
        }
        return .recipient(key)
    }

    /// Reads an X25519 private key (PEM `PRIVATE KEY`, unencrypted PKCS#8, file mode 0600).
    public static func identity(pemFile path: String) throws -> BackupKeyMaterial {
        try SecureFile.checkPrivateFile(path)
        var der = try pemDER(path, label: "PRIVATE KEY")
        defer { for index in der.indices { der[index] = 0 } }
        guard der.count == pkcs8Prefix.count + 32, Array(der.prefix(pkcs8Prefix.count)) == pkcs8Prefix,
            let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: der.suffix(32))
        else {
            throw ApplianceError.unavailable("\(path) is not an unencrypted X25519 private key (PEM PRIVATE KEY)")
        }
        return .identity(key)
    }

    static func pemDER(_ path: String, label: String) throws -> [UInt8] {
        let text = String(decoding: try SecureFile.read(path, maximumSize: 64 << 10), as: UTF8.self)
        guard let document = try? PEMDocument(pemString: text), document.discriminator == label else {
            throw ApplianceError.unavailable("\(path) is not a PEM \(label)")
        }
        return document.derBytes
    }

    /// The header fields this material fixes for a new archive: scrypt cost and salt, or no cost
    /// and an ephemeral public key; with the key.
    func seal(kdf: BackupKDFParameters, random: any RandomSource) throws -> (kdf: BackupKDFParameters?, salt: [UInt8], key: SymmetricKey) {
        switch self {
        case .passphrase(let secret):
            let salt = random.bytes(32)
            return (kdf, salt, try kdf.deriveKey(passphrase: secret, salt: salt))
        case .recipient(let recipient):
            let ephemeral = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: random.bytes(32))
            let salt = Array(ephemeral.publicKey.rawRepresentation)
            return (nil, salt, try Self.agree(ephemeral, recipient, ephemeralPublic: salt))
        case .identity:
            throw ApplianceError.unavailable("a backup is written to a recipient's public key (--recipient), not with a private key")
        }
    }

    /// The key of an existing archive; a mismatch of material and header says what is needed.
    func open(_ header: BackupHeader) throws -> SymmetricKey {
        switch (self, header.kdf) {
        case (.passphrase(let secret), .some(let kdf)):
            return try kdf.deriveKey(passphrase: secret, salt: header.salt)
        case (.identity(let identity), .none):
            guard let ephemeral = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: header.salt) else {
                throw ApplianceError.backupRejected("the header's ephemeral X25519 key is malformed")
            }
            return try Self.agree(identity, ephemeral, ephemeralPublic: header.salt)
        case (_, .some):
            throw ApplianceError.backupRejected(
                "this archive is protected by a passphrase; give --passphrase-file, --passphrase-fd or answer the prompt")
        case (_, .none):
            throw ApplianceError.backupRejected("this archive is encrypted to a recipient key; give its private key with --identity")
        }
    }

    private static func agree(
        _ privateKey: Curve25519.KeyAgreement.PrivateKey, _ publicKey: Curve25519.KeyAgreement.PublicKey,
        ephemeralPublic: [UInt8]
    ) throws -> SymmetricKey {
        let recipientPublic: [UInt8]
        // Both sides bind the recipient's public key: the writer knows it directly, the reader
        // derives it from its private key.
        if Array(publicKey.rawRepresentation) == ephemeralPublic {
            recipientPublic = Array(privateKey.publicKey.rawRepresentation)
        } else {
            recipientPublic = Array(publicKey.rawRepresentation)
        }
        let shared: SharedSecret
        do { shared = try privateKey.sharedSecretFromKeyAgreement(with: publicKey) } catch {
            throw ApplianceError.backupRejected("X25519 key agreement failed (a low-order public key?)")
        }
        return shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: ephemeralPublic + recipientPublic, sharedInfo: info, outputByteCount: 32)
    }
}
