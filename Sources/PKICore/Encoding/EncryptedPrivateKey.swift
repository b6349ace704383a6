import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// Passphrase-encrypted PKCS#8 (RFC 5958 §3 `EncryptedPrivateKeyInfo`) for software keys: PBES2
/// with scrypt and AES-256-CBC, the form `openssl pkcs8 -topk8 -scrypt` writes and
/// `openssl pkey -passin file:…` reads. Reading also accepts PBKDF2-HMAC-SHA256 (`-v2 aes-256-cbc`).
///
/// Passphrases are bytes and never appear in errors or logs.
public enum EncryptedPrivateKey {
    /// scrypt cost parameters. The default is openssl's (N=2^14, r=8, p=1 → 16 MiB): openssl
    /// refuses to open scrypt keys needing more than its 32 MiB default `maxmem`, so N=2^15 and
    /// above would not be readable by `openssl pkey`.
    public struct ScryptCost: Sendable, Hashable {
        public let n: Int, r: Int, p: Int
        /// scrypt needs 128·r·N bytes (RFC 7914 §2); a key file must not be able to ask for more
        /// (the same cap as backup archives, docs/backup-format.md).
        public static let maximumMemory = 512 << 20

        public init(n: Int, r: Int, p: Int) throws {
            guard n > 1, n & (n - 1) == 0, n <= 1 << 20, (1...32).contains(r), (1...4).contains(p) else {
                throw PKIError.invalidParameter("scrypt cost must have N a power of two ≤ 2^20, r 1–32, p 1–4")
            }
            // Work is N·r·p block mixes, so the memory cap with p ≤ 4 also bounds the time.
            guard 128 * r * n <= Self.maximumMemory else {
                throw PKIError.invalidParameter(
                    "scrypt cost N=\(n), r=\(r) would need \((128 * r * n) >> 20) MiB, over the \(Self.maximumMemory >> 20) MiB limit")
            }
            self.n = n
            self.r = r
            self.p = p
        }
        public static let `default` = ScryptCost(unchecked: 1 << 14, 8, 1)
        private init(unchecked n: Int, _ r: Int, _ p: Int) {
            self.n = n
            self.r = r
            self.p = p
        }
    }

    static let pemLabel = "ENCRYPTED PRIVATE KEY"

    /// Encrypts `key` as PEM `ENCRYPTED PRIVATE KEY`. Salt and IV come from `random`.
    public static func encrypt(_ key: Certificate.PrivateKey, passphrase: [UInt8], random: any RandomSource, cost: ScryptCost = .default) throws
        -> String
    {
        guard !passphrase.isEmpty else { throw PKIError.invalidParameter("the passphrase must not be empty") }
        let plaintext = try pkcs8DER(key)
        let parameters = PBES2Parameters(kdf: .scrypt(salt: random.bytes(16), n: cost.n, r: cost.r, p: cost.p), iv: random.bytes(16))
        let symmetricKey = try deriveKey(parameters.kdf, passphrase: passphrase)
        let ciphertext = try AES._CBC.encrypt(plaintext, using: symmetricKey, iv: AES._CBC.IV(ivBytes: parameters.iv))
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { info in
            try parameters.serialize(into: &info)
            try info.serialize(ASN1OctetString(contentBytes: Array(ciphertext)[...]))
        }
        return PEMDocument(type: pemLabel, derBytes: serializer.serializedBytes).pemString + "\n"
    }

    /// Decrypts PEM or DER `EncryptedPrivateKeyInfo`. A wrong passphrase is `PKIError.decryption`.
    public static func decrypt(_ bytes: [UInt8], passphrase: [UInt8]) throws -> Certificate.PrivateKey {
        let der = try PEMCodec.derBytes(from: bytes, label: pemLabel)
        var parameters: PBES2Parameters?
        var ciphertext: [UInt8] = []
        do {
            let root = try DER.parse(der)
            try DER.sequence(root, identifier: .sequence) { info in
                guard let algorithm = info.next(), let data = info.next() else { throw PKIError.malformed("EncryptedPrivateKeyInfo incomplete") }
                parameters = try PBES2Parameters(algorithmIdentifier: algorithm)
                ciphertext = Array(try ASN1OctetString(derEncoded: data).bytes)
            }
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError.malformed("not an encrypted PKCS#8 key: \(error)")
        }
        guard let parameters else { throw PKIError.malformed("EncryptedPrivateKeyInfo incomplete") }
        try checkCost(parameters.kdf)
        let symmetricKey = try deriveKey(parameters.kdf, passphrase: passphrase)
        let plaintext: Data
        do {
            plaintext = try AES._CBC.decrypt(ciphertext, using: symmetricKey, iv: AES._CBC.IV(ivBytes: parameters.iv))
        } catch {
            throw PKIError.decryption("the passphrase is wrong or the key file is damaged")
        }
        do { return try Certificate.PrivateKey(derBytes: Array(plaintext)) } catch {
            // Bad padding sometimes decrypts "successfully" into garbage; same message either way.
            throw PKIError.decryption("the passphrase is wrong or the key file is damaged")
        }
    }

    /// Unencrypted PKCS#8 DER for a software key (RSA keys are rewrapped from PKCS#1).
    static func pkcs8DER(_ key: Certificate.PrivateKey) throws -> [UInt8] {
        let document: PEMDocument
        do { document = try key.serializeAsPEM() } catch {
            throw PKIError.unsupported("this private key cannot be exported (hardware keys never are)")
        }
        switch document.discriminator {
        case "PRIVATE KEY": return document.derBytes
        case "RSA PRIVATE KEY": return Array(try _RSA.Signing.PrivateKey(derRepresentation: document.derBytes).pkcs8DERRepresentation)
        case "EC PRIVATE KEY":
            throw PKIError.unsupported("SEC1 EC keys are not exported; use a P-256/P-384 software key")
        default: throw PKIError.unsupported("unexpected private key encoding \(document.discriminator)")
        }
    }

    /// Refuses parameters that would let a hostile file burn memory or CPU.
    static func checkCost(_ kdf: PBES2Parameters.KDF) throws {
        switch kdf {
        case .scrypt(_, let n, let r, let p):
            _ = try ScryptCost(n: n, r: r, p: p)
        case .pbkdf2SHA256(_, let iterations):
            guard (1000...10_000_000).contains(iterations) else {
                throw PKIError.unsupported("PBKDF2 iteration count \(iterations) is outside 1000–10000000")
            }
        }
    }

    static func deriveKey(_ kdf: PBES2Parameters.KDF, passphrase: [UInt8]) throws -> SymmetricKey {
        do {
            switch kdf {
            case .scrypt(let salt, let n, let r, let p):
                return try KDF.Scrypt.deriveKey(from: passphrase, salt: salt, outputByteCount: 32, rounds: n, blockSize: r, parallelism: p)
            case .pbkdf2SHA256(let salt, let iterations):
                return try KDF.Insecure.PBKDF2.deriveKey(
                    from: passphrase, salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: iterations)  // bounded by checkCost
            }
        } catch {
            throw PKIError.decryption("key derivation failed")
        }
    }
}
