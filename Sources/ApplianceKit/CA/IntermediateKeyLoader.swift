import Foundation
import PKCS11
import PKICore
import SecureFiles
import X509

/// Loads the intermediate's signing key at `appliance serve` (docs/architecture.md#trust-model).
///
/// A key file readable or writable by group/other is refused before it is read (the message
/// names the file and its mode, never the passphrase); a token key is found by the pinned SPKI
/// of the installed intermediate certificate.
public enum IntermediateKeyLoader {
    /// Decrypts `ca/private/intermediate-ca.key` (or `path`) with `passphrase`.
    public static func loadFileKey(at path: String, passphrase: SecretBytes) throws -> Certificate.PrivateKey {
        try checkMode(path)
        let bytes = try SecureFile.read(path, maximumSize: 64 * 1024)
        var secret = passphrase.withUnsafeBytes { Array($0) }
        defer { for index in secret.indices { secret[index] = 0 } }
        do {
            return try EncryptedPrivateKey.decrypt(bytes, passphrase: secret)
        } catch let error as PKIError {
            throw ApplianceError.forbidden("cannot decrypt \(path): \(error.reason)")
        }
    }

    /// Opens the token, logs in and finds the private key of `certificate` by its SPKI SHA-256.
    /// The returned key keeps its session (and module) alive.
    public static func loadPKCS11Key(_ location: PKCS11KeyLocation, pin: SecretBytes, certificate: Certificate) throws -> Certificate.PrivateKey {
        Certificate.PrivateKey(try loadPKCS11Connection(location, pin: pin, certificate: certificate).privateKey)
    }

    /// Like ``loadPKCS11Key(_:pin:certificate:)``, returning the connection itself so the caller
    /// can watch the token (`/health`, `rootkeeper_hsm_up`). The key reconnects when the token
    /// comes back after being removed; the connection keeps `pin` for that re-login.
    public static func loadPKCS11Connection(_ location: PKCS11KeyLocation, pin: SecretBytes, certificate: Certificate) throws -> PKCS11KeyConnection {
        let selector = try TokenSelector(parsing: location.token)
        do {
            return try PKCS11KeyConnection(
                modulePath: location.modulePath, selector: selector, pin: pin, spkiSHA256: certificate.publicKey.spkiSHA256)
        } catch let error as PKCS11Error where error.code == .moduleLoadFailed {
            throw ApplianceError.unavailable("cannot load PKCS#11 module \(location.modulePath): \(error)")
        } catch let error as PKCS11Error where error.code == .keyNotFound {
            throw ApplianceError.unavailable("the intermediate key is not on token \(location.token): \(error)")
        } catch {
            // One login attempt only: the token counts failures.
            throw ApplianceError.unavailable("login to token \(location.token) failed: \(error) (no retry was made)")
        }
    }

    /// The current intermediate certificate, root and the retiring intermediates of
    /// `ca/issuers/<ski>/` (each must be signed by the root and live under its own SKI).
    public static func loadCertificates(_ state: StateDirectory) throws -> (intermediate: Certificate, root: Certificate, previous: [Certificate]) {
        guard FileManager.default.fileExists(atPath: state.intermediateCertificate) else {
            throw ApplianceError.stateDirectory("\(state.intermediateCertificate) is missing: run `appliance intermediate install` first")
        }
        let intermediate = try PEMCodec.certificate(from: SecureFile.read(state.intermediateCertificate))
        let root = try PEMCodec.certificate(from: SecureFile.read(state.rootCertificate))
        let previous = try loadCertificates(stateRetiringOnly: state, root: root)
        return (intermediate, root, previous)
    }

    /// The retiring intermediates of `ca/issuers/` checked against `root` (for `install`).
    static func loadCertificates(stateRetiringOnly state: StateDirectory, root: Certificate) throws -> [Certificate] {
        try retiringIssuerIDs(state).map { ski in
            let certificate = try PEMCodec.certificate(from: SecureFile.read(state.issuerCertificate(ski)))
            guard try IssuerRoster.ski(certificate) == ski else {
                throw ApplianceError.stateDirectory("\(state.issuerCertificate(ski)) has another subject key identifier than its directory name")
            }
            guard certificate.issuer == root.subject, root.publicKey.isValidSignature(certificate.signature, for: certificate) else {
                throw ApplianceError.stateDirectory("\(state.issuerCertificate(ski)) is not signed by the pinned root")
            }
            return certificate
        }
    }

    /// Directory names under `ca/issuers/` (lower-case hex SKIs), sorted.
    public static func retiringIssuerIDs(_ state: StateDirectory) throws -> [String] {
        guard FileManager.default.fileExists(atPath: state.issuersDirectory) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: state.issuersDirectory).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// The keys of the current and the retiring intermediates, in that order: file keys are
    /// decrypted with the one passphrase (`intermediate csr` checks a renewal key uses the same),
    /// token keys found by SPKI in one session with one login (the token counts failures).
    public static func loadIssuerKeys(
        _ state: StateDirectory, current: Certificate, retiring: [Certificate], secret: SecretBytes, token: PKCS11KeyLocation?
    ) throws -> (current: Certificate.PrivateKey, retiring: [Certificate.PrivateKey], tokenConnection: PKCS11KeyConnection?) {
        if let token {
            // One reconnecting connection per key (each logs in again by itself when the token
            // comes back). Only the first login can meet a wrong PIN, and it stops there; the
            // others share the token's login state (PKCS#11 v2.40 §5.6).
            let connections = try ([current] + retiring).map { certificate in
                try loadPKCS11Connection(token, pin: secret, certificate: certificate)
            }
            let keys = try connections.map { Certificate.PrivateKey(try $0.privateKey) }
            return (keys[0], Array(keys.dropFirst()), connections[0])
        }
        let currentKey = try loadFileKey(at: state.intermediateKey, passphrase: secret)
        let retiringKeys = try retiring.map { certificate in
            let path = state.issuerKey(try IssuerRoster.ski(certificate))
            guard FileManager.default.fileExists(atPath: path) else {
                throw ApplianceError.stateDirectory("\(path) is missing: the retiring intermediate cannot sign its CRL")
            }
            let key = try loadFileKey(at: path, passphrase: secret)
            guard key.publicKey == certificate.publicKey else {
                throw ApplianceError.stateDirectory("\(path) is not the key of \(state.issuerCertificate(try IssuerRoster.ski(certificate)))")
            }
            return key
        }
        return (currentKey, retiringKeys, nil)
    }

    /// Refuses a key file with any group/other permission bit (docs/conventions.md#secrets-and-keys: keys 0600).
    static func checkMode(_ path: String) throws {
        let mode = try StateDirectory.mode(of: path)
        guard mode & 0o077 == 0 else {
            throw ApplianceError.stateDirectory(
                "private key \(path) has mode \(StateDirectory.octal(mode)); it must not be readable by group or other (chmod 600 \(path))")
        }
        do {
            try SecureFile.checkPrivateFile(path)
        } catch let error as SecureFileError {
            throw ApplianceError.stateDirectory("private key \(path) is refused: \(error.reason)")
        }
    }

    static func openSession(_ location: PKCS11KeyLocation, pin: SecretBytes) throws -> PKCS11Session {
        let selector = try TokenSelector(parsing: location.token)
        let module: PKCS11Module
        do {
            module = try PKCS11Module(path: location.modulePath)
        } catch {
            throw ApplianceError.unavailable("cannot load PKCS#11 module \(location.modulePath): \(error)")
        }
        do {
            // One login attempt only: the token counts failures.
            return try module.openSession(selector, pin: pin)
        } catch {
            throw ApplianceError.unavailable("login to token \(location.token) failed: \(error) (no retry was made)")
        }
    }
}
