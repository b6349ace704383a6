import Crypto
import Foundation
import PKCS11
import PKICore
import SecureFiles
import X509

/// `appliance init` and the intermediate's lifecycle (docs/commands.md#appliance-init): state layout, intermediate key
/// (encrypted file or PKCS#11), the CSR bundle the root ceremony reads, and installation of the
/// ceremony's certificate after verifying it chains to the root the operator pins.
///
/// A new key is *pending* until its certificate is installed: its CSR is kept in
/// `ca/intermediate-ca.pending.csr`, and on renewal its file in `ca/private/intermediate-ca.pending.key`,
/// so the current key keeps signing until ``install(stateDirectory:from:rootFingerprint:)``.
public enum ApplianceSetup {
    /// The CSR bundle directory name the intermediate ceremony reads by default.
    public static let csrBundleName = "intermediate-csr"
    /// The CSR file inside the bundle (as `IntermediateCeremony` expects).
    public static let csrFileName = "intermediate.csr"

    /// What was produced: the bundle directory and the key's identity (handed to the ceremony officers).
    public struct CSRResult: Sendable {
        public let bundlePath: String
        public let subject: String
        public let spkiSHA256: String
        /// The PKCS#11 key label, for token-backed keys.
        public let keyLabel: String?
        /// The page the operator prints and hands to the officers: the SPKI SHA-256 and its PGP
        /// words (``KeyConfirmation/printout(subject:)``); also written to ``printoutPath``.
        public let printout: String
        /// Where the printout was written (in the state directory, never on the media: the words
        /// must reach the ceremony on paper, not with the bundle they vouch for).
        public let printoutPath: String
    }

    /// The printout of the latest CSR's key, `ca/intermediate-csr-printout.txt` (replaced by each new CSR).
    public static func printoutPath(_ state: StateDirectory) -> String { state.path("ca", "intermediate-csr-printout.txt") }

    /// Creates the state layout, generates the intermediate key and writes the CSR bundle to
    /// `<media>/intermediate-csr`. Refuses when the appliance is already initialised.
    public static func initialize(
        stateDirectory state: StateDirectory, configuration request: IntermediateRequest, keyBackend: IntermediateKeyBackend,
        media: String, clock: any PKIClock = SystemClock(), random: any RandomSource = SystemRandomSource()
    ) async throws -> CSRResult {
        try state.create()
        for existing in [state.intermediateKey, state.intermediateCertificate, pendingCSR(state)]
        where FileManager.default.fileExists(atPath: existing) {
            throw ApplianceError.stateDirectory("\(existing) exists: this appliance is already initialised (use `intermediate csr` to renew)")
        }
        return try await generate(
            state: state, request: request, keyBackend: keyBackend, keyPath: state.intermediateKey,
            out: (media as NSString).appendingPathComponent(csrBundleName), clock: clock, random: random)
    }

    /// Renewal: a new key (pending until install; the current key keeps signing) and its CSR
    /// bundle written to `out`.
    public static func intermediateCSR(
        stateDirectory state: StateDirectory, configuration request: IntermediateRequest, keyBackend: IntermediateKeyBackend,
        out: String, clock: any PKIClock = SystemClock(), random: any RandomSource = SystemRandomSource()
    ) async throws -> CSRResult {
        try state.create()
        for existing in [pendingKey(state), pendingCSR(state)] where FileManager.default.fileExists(atPath: existing) {
            throw ApplianceError.stateDirectory("\(existing) exists: a renewal is already pending; install its certificate or remove it first")
        }
        // `serve` unlocks every intermediate key (current and retiring) with one secret: a file
        // key for the renewal must use the passphrase of the current one.
        if case .file(let passphrase) = keyBackend, FileManager.default.fileExists(atPath: state.intermediateKey) {
            do {
                _ = try IntermediateKeyLoader.loadFileKey(at: state.intermediateKey, passphrase: passphrase)
            } catch {
                throw ApplianceError.forbidden(
                    "the passphrase does not unlock the current intermediate key; the renewal key must use the same passphrase (\(error))")
            }
        }
        return try await generate(
            state: state, request: request, keyBackend: keyBackend, keyPath: pendingKey(state), out: out,
            clock: clock, random: random)
    }

    static func pendingCSR(_ state: StateDirectory) -> String { state.path("ca", "intermediate-ca.pending.csr") }
    static func pendingKey(_ state: StateDirectory) -> String { state.path("ca", "private", "intermediate-ca.pending.key") }

    static func generate(
        state: StateDirectory, request: IntermediateRequest, keyBackend: IntermediateKeyBackend, keyPath: String, out: String,
        clock: any PKIClock, random: any RandomSource
    ) async throws -> CSRResult {
        guard !FileManager.default.fileExists(atPath: out) else {
            throw ApplianceError.stateDirectory("\(out) already exists; outputs are never overwritten")
        }
        let subject = try SubjectName.intermediate(
            name: request.commonName, organization: request.organization, unit: request.unit, country: request.country)
        let key: Certificate.PrivateKey
        var label: String?
        var session: PKCS11Session?
        switch keyBackend {
        case .file(let passphrase):
            guard passphrase.count >= 8 else { throw ApplianceError.malformed("the passphrase must be at least 8 bytes") }
            key = try request.algorithm.generatePrivateKey()
            var secret = passphrase.withUnsafeBytes { Array($0) }
            defer { for index in secret.indices { secret[index] = 0 } }
            let pem = try EncryptedPrivateKey.encrypt(key, passphrase: secret, random: random)
            try SecureFile.createPrivateDirectory(state.caPrivateDirectory)
            try SecureFile.writeExclusive(Array(pem.utf8), to: keyPath, mode: 0o600)
        case .pkcs11(let location, let pin):
            let opened = try IntermediateKeyLoader.openSession(location, pin: pin)
            session = opened
            // The ID's first bytes in the label keep a same-day renewal key distinct on the token
            // (generation refuses a label that exists) and let an officer find it by label.
            let id = random.bytes(16)
            let keyLabel = "rootkeeper-intermediate-\(dayStamp(clock.now()))-\(PKICore.Hex.encode(Array(id.prefix(4))))"
            let pair = try opened.generateKeyPair(try pkcs11Spec(request.algorithm), label: keyLabel, id: id)
            key = Certificate.PrivateKey(pair.privateKey)
            label = keyLabel
        }
        defer { _ = try? session?.logout() }
        let csr: CertificateSigningRequest
        do {
            csr = try CertificateSigningRequest(version: .v1, subject: subject, privateKey: key, attributes: CertificateSigningRequest.Attributes())
        } catch {
            throw PKIError.signing("could not sign the intermediate CSR: \(error)")
        }
        let csrPEM = Array(try PEMCodec.pem(csr).utf8)
        let spki = key.publicKey.spkiSHA256Hex
        let bundle = try MediaBundle(
            payload: [csrFileName: csrPEM],
            summary: """
                Rootkeeper intermediate CA certificate request
                subject: \(subject)
                key: \(request.algorithm)\(label.map { " (PKCS#11 token key \($0))" } ?? " (encrypted file)")
                SPKI SHA-256: \(spki)
                created: \(ISO8601DateFormatter().string(from: clock.now()))

                """)
        try SecureFile.writeExclusive(csrPEM, to: pendingCSR(state), mode: 0o644)
        try BundleDirectory.write(bundle, to: out)
        let printout = KeyConfirmation(spkiSHA256: key.publicKey.spkiSHA256).printout(subject: "\(subject)")
        try SecureFile.replaceAtomically(Array(printout.utf8), at: printoutPath(state), mode: 0o644)
        return CSRResult(
            bundlePath: out, subject: "\(subject)", spkiSHA256: spki, keyLabel: label, printout: printout,
            printoutPath: printoutPath(state))
    }

    static func pkcs11Spec(_ algorithm: KeyAlgorithm) throws -> PKCS11KeySpec {
        switch algorithm {
        case .p256: .p256
        case .p384: .p384
        case .rsa2048: .rsa2048
        case .rsa3072: .rsa3072
        case .rsa4096: .rsa4096
        }
    }

    static func dayStamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd"
        return formatter.string(from: date)
    }
}
