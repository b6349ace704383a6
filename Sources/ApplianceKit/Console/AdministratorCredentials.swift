import Crypto
import Foundation
import PKICore
import SecureFiles
import X509

/// The files `appliance admins add` leaves for one administrator (docs/console.md#administrator-certificates),
/// in a 0700 directory: `admin-NAME.crt` (certificate + chain), `admin-NAME.key` (PKCS#8, 0600),
/// `admin-NAME.p12` (for a browser import, 0600) and `admin-NAME.p12.password` (0600). The
/// password is generated here and only ever written to that file — never printed, never in argv.
/// Files are created exclusively: an existing one is refused, nothing is overwritten.
public struct AdministratorCredentials: Sendable {
    public let directory: String
    public let name: String

    public init(directory: String, name: String) {
        self.directory = directory
        self.name = name
    }

    public var certificatePath: String { (directory as NSString).appendingPathComponent("admin-\(name).crt") }
    public var keyPath: String { (directory as NSString).appendingPathComponent("admin-\(name).key") }
    public var pkcs12Path: String { (directory as NSString).appendingPathComponent("admin-\(name).p12") }
    public var passwordPath: String { (directory as NSString).appendingPathComponent("admin-\(name).p12.password") }

    /// A fresh P-256 key for the administrator (it never leaves this process and the files).
    public static func generateKey() -> Certificate.PrivateKey { Certificate.PrivateKey(P256.Signing.PrivateKey()) }

    /// Refuses before anything is issued when a file would be overwritten.
    public func checkFree() throws {
        for path in [certificatePath, keyPath, pkcs12Path, passwordPath] where FileManager.default.fileExists(atPath: path) {
            throw ApplianceError.stateDirectory("\(path) already exists; move it away or choose another --out directory")
        }
    }

    /// Writes the four files for `key` and `chainPEM` (the administrator's certificate first).
    public func write(key: Certificate.PrivateKey, chainPEM: String, random: any RandomSource = SystemRandomSource()) throws {
        let certificates = try PEMCodec.certificates(fromPEM: chainPEM)
        guard let leaf = certificates.first, leaf.publicKey == key.publicKey else {
            throw ApplianceError.stateDirectory("the appliance returned a certificate for another key")
        }
        // `--out` may name a directory below one that does not exist yet (`demo/admins/demo`).
        let parent = (directory as NSString).deletingLastPathComponent
        if !parent.isEmpty, !FileManager.default.fileExists(atPath: parent) {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        try SecureFile.createPrivateDirectory(directory)
        // 24 characters from a 64-symbol alphabet: 144 bits; ASCII so every PKCS#12 reader agrees.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let password = String(random.bytes(24).map { alphabet[Int($0) & 63] })
        let pkcs12 = try PKCS12Archive.encode(
            key: key, certificates: certificates, friendlyName: "Rootkeeper admin-\(name)", password: password, random: random)
        try SecureFile.writeExclusive(Array((try key.serializeAsPEM().pemString + "\n").utf8), to: keyPath, mode: 0o600)
        try SecureFile.writeExclusive(Array(password.utf8) + [0x0a], to: passwordPath, mode: 0o600)
        try SecureFile.writeExclusive(pkcs12, to: pkcs12Path, mode: 0o600)
        try SecureFile.writeExclusive(Array(chainPEM.utf8), to: certificatePath, mode: 0o644)
    }
}
