import Foundation
import PKICore
import TestSupport
import Testing
import X509

@Suite("Encrypted PKCS#8 private keys")
struct EncryptedKeyTests {
    static let passphrase = Array("correct horse battery staple".utf8)

    @Test("A key we encrypt with scrypt opens with openssl pkey -passin file:, and is the same key", arguments: [KeyAlgorithm.p256, .p384, .rsa2048])
    func opensslReadsOurs(algorithm: KeyAlgorithm) throws {
        let directory = try TemporaryDirectory("enckey")
        defer { directory.remove() }
        let key = try algorithm.generatePrivateKey()
        let pem = try EncryptedPrivateKey.encrypt(key, passphrase: Self.passphrase, random: SystemRandomSource())
        #expect(pem.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        try pem.write(toFile: directory.file("key.pem"), atomically: true, encoding: .utf8)
        try Data(Self.passphrase).write(to: URL(fileURLWithPath: directory.file("pass")))
        let openssl = try OpenSSL.tool()
        let info = try openssl.run(["asn1parse", "-in", directory.file("key.pem")])
        #expect(info.stdout.contains(":scrypt") && info.stdout.contains(":aes-256-cbc"), "\(info.stdout)")
        let pub = try openssl.run(["pkey", "-in", directory.file("key.pem"), "-passin", "file:\(directory.file("pass"))", "-pubout"])
        #expect(pub.succeeded, "\(pub.output)")
        #expect(try PEMCodec.publicKey(from: Array(pub.stdout.utf8)) == key.publicKey)
    }

    @Test(
        "We read keys openssl encrypted with -scrypt and with PBKDF2 (-v2 aes-256-cbc)",
        arguments: [["-scrypt"], ["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256"]])
    func weReadOpenSSLs(options: [String]) throws {
        let directory = try TemporaryDirectory("enckey")
        defer { directory.remove() }
        let openssl = try OpenSSL.tool()
        try Data(Self.passphrase).write(to: URL(fileURLWithPath: directory.file("pass")))
        #expect(
            try openssl.run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", directory.file("plain.pem")]).succeeded)
        let encrypted = try openssl.run(
            ["pkcs8", "-topk8", "-in", directory.file("plain.pem"), "-passout", "file:\(directory.file("pass"))"] + options)
        #expect(encrypted.succeeded, "\(encrypted.output)")
        let key = try EncryptedPrivateKey.decrypt(Array(encrypted.stdout.utf8), passphrase: Self.passphrase)
        let pub = try openssl.run(["pkey", "-in", directory.file("plain.pem"), "-pubout"])
        #expect(try PEMCodec.publicKey(from: Array(pub.stdout.utf8)) == key.publicKey)
    }

    @Test("A wrong passphrase is a decryption failure that does not echo the passphrase")
    func wrongPassphrase() throws {
        let key = try KeyAlgorithm.p256.generatePrivateKey()
        let pem = try EncryptedPrivateKey.encrypt(key, passphrase: Self.passphrase, random: SystemRandomSource())
        #expect {
            _ = try EncryptedPrivateKey.decrypt(Array(pem.utf8), passphrase: Array("hunter2".utf8))
        } throws: { error in
            guard let error = error as? PKIError else { return false }
            return error.code == .decryptionFailure && !error.reason.contains("hunter2")
        }
    }
}
