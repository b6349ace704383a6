import Crypto
import Foundation
import PKICore
import SecureFiles
import SwiftASN1
import X509

extension ApplianceSetup {
    /// What ``install(stateDirectory:from:rootFingerprint:)`` installed.
    public struct Installed: Sendable {
        public let intermediate: Certificate
        public let root: Certificate
        /// Whether a pending renewal key became the current key.
        public let activatedPendingKey: Bool
        /// The intermediates that now retire (the replaced one and any earlier still retiring),
        /// served next to the new one until their last certificate expires.
        public let retiring: [Certificate]
    }

    /// Installs the ceremony's output bundle (`intermediate-ca.crt`, `ca-chain.crt`).
    ///
    /// Checks, before anything is written: every file matches MANIFEST; the last certificate of
    /// the chain is a self-signed root that `rootFingerprint` names (its certificate SHA-256, SPKI
    /// SHA-256 or agent pin, docs/identity.md: the operator copies it from the root ceremony's paper log);
    /// the intermediate is signed by that root and names it as issuer; it is CA:TRUE with
    /// pathLen 0 (RFC 5280 §4.2.1.9) and keyCertSign; and its public key is our pending key.
    /// Then keeps the replaced intermediate as a *retiring* issuer (`ca/issuers/<ski>/` with its
    /// certificate and, for file keys, `private/intermediate-ca.key`; its CRL files are renamed to
    /// `crl/issuer-<ski>.crl`), activates the pending key, and writes `ca/root-ca.crt`,
    /// `ca/intermediate-ca.crt` and `ca/ca-chain.crt` (new intermediate, retiring ones, root).
    /// Restart `appliance serve` to start issuing with the new intermediate.
    public static func install(stateDirectory state: StateDirectory, from bundleDirectory: String, rootFingerprint: String) throws -> Installed {
        let bundle: MediaBundle
        do {
            bundle = try BundleDirectory.read(from: bundleDirectory)
        } catch {
            throw ApplianceError.malformed("the certificate bundle \(bundleDirectory) is refused: \(error)")
        }
        guard let intermediateBytes = bundle.file("intermediate-ca.crt"), let chainBytes = bundle.file("ca-chain.crt") else {
            throw ApplianceError.malformed("the certificate bundle must contain intermediate-ca.crt and ca-chain.crt")
        }
        let intermediate = try PEMCodec.certificate(from: intermediateBytes)
        let chain = try PEMCodec.certificates(fromPEM: String(decoding: chainBytes, as: UTF8.self))
        guard let root = chain.last, chain.count >= 2, chain.first == intermediate else {
            throw ApplianceError.malformed("ca-chain.crt must hold the intermediate followed by the root")
        }
        try verifyRoot(root, pinned: rootFingerprint)
        try verifyIntermediate(intermediate, root: root)
        // A renewal never changes the root: the one installed first stays pinned, whatever
        // fingerprint is typed now (agents and relying parties trust that root).
        if FileManager.default.fileExists(atPath: state.rootCertificate) {
            let installedRoot = try PEMCodec.certificate(from: SecureFile.read(state.rootCertificate))
            guard installedRoot == root else {
                throw ApplianceError.forbidden(
                    "the bundle chains to another root than the installed one (certificate SHA-256 \(try fingerprint(installedRoot)), ca/root-ca.crt); a renewal cannot change the root"
                )
            }
        }

        guard FileManager.default.fileExists(atPath: pendingCSR(state)) else {
            throw ApplianceError.stateDirectory("no pending intermediate key: run `appliance init` or `appliance intermediate csr` first")
        }
        let csr = try CSRDecoder.decode(SecureFile.read(pendingCSR(state)))
        guard csr.publicKey == intermediate.publicKey else {
            throw ApplianceError.forbidden(
                "the certificate is for another key than our pending key (SPKI SHA-256 \(csr.publicKey.spkiSHA256Hex)): the ceremony signed another CSR; nothing was installed"
            )
        }

        // Activate: keep what is replaced as a retiring issuer, then write the new files atomically.
        let files = FileManager.default
        if files.fileExists(atPath: state.intermediateCertificate) {
            let replaced = try PEMCodec.certificate(from: SecureFile.read(state.intermediateCertificate))
            if replaced != intermediate { try keepAsRetiring(replaced, state: state, movingKey: files.fileExists(atPath: pendingKey(state))) }
        }
        var activated = false
        if files.fileExists(atPath: pendingKey(state)) {
            try replace(pendingKey(state), with: state.intermediateKey)
            activated = true
        }
        let retiring = try IntermediateKeyLoader.loadCertificates(stateRetiringOnly: state, root: root)
        try SecureFile.replaceAtomically(Array(try PEMCodec.pem(root).utf8), at: state.rootCertificate, mode: 0o644)
        try SecureFile.replaceAtomically(Array(try PEMCodec.pem(intermediate).utf8), at: state.intermediateCertificate, mode: 0o644)
        try SecureFile.replaceAtomically(Array(try PEMCodec.pemChain([intermediate] + retiring + [root]).utf8), at: state.caChain, mode: 0o644)
        guard unlink(pendingCSR(state)) == 0 else {
            throw ApplianceError.stateDirectory("cannot remove \(pendingCSR(state)): \(String(cString: strerror(errno)))")
        }
        return Installed(intermediate: intermediate, root: root, activatedPendingKey: activated, retiring: retiring)
    }

    /// Moves the replaced intermediate to `ca/issuers/<ski>/` (certificate 0644 in 0750; file key
    /// 0600 in a 0700 `private/`), and its CRL files to the retiring issuer's names. Idempotent,
    /// so an install interrupted half-way can be run again.
    static func keepAsRetiring(_ certificate: Certificate, state: StateDirectory, movingKey: Bool) throws {
        let ski = try IssuerRoster.ski(certificate)
        for (directory, mode) in [(state.issuersDirectory, 0o750), (state.issuerDirectory(ski), 0o750)] {
            if mkdir(directory, mode_t(mode)) != 0, errno != EEXIST {
                throw ApplianceError.stateDirectory("cannot create \(directory): \(String(cString: strerror(errno)))")
            }
        }
        try SecureFile.replaceAtomically(Array(try PEMCodec.pem(certificate).utf8), at: state.issuerCertificate(ski), mode: 0o644)
        if movingKey, FileManager.default.fileExists(atPath: state.intermediateKey) {
            try SecureFile.createPrivateDirectory(state.issuerPrivateDirectory(ski))
            try replace(state.intermediateKey, with: state.issuerKey(ski))
        }
        try CRLFiles(state: state).renameIntermediate(toRetiring: ski)
    }

    /// SHA-256 of a certificate's DER, lower-case hex (the fingerprint operators compare).
    public static func fingerprint(_ certificate: Certificate) throws -> String {
        Array(SHA256.hash(data: try PEMCodec.der(certificate))).hexString
    }

    /// Checks the bundle's root against the value from the paper log (any form of
    /// docs/identity.md). A mismatch names the expected value and its source, never the bundle's
    /// own fingerprint: the bundle is what is being checked, and a printed value gets copied.
    static func verifyRoot(_ root: Certificate, pinned: String) throws {
        let expected: TrustAnchorIdentity
        do {
            expected = try TrustAnchorIdentity(parsing: pinned, source: "--root-fingerprint, from the paper log of the root ceremony")
        } catch let error as PKIError {
            throw ApplianceError.malformed(error.reason)
        }
        guard expected.match(root) != nil else {
            throw ApplianceError.forbidden(
                expected.mismatch("the bundle's root certificate") + "; nothing was installed. Stop: the media may carry another root")
        }
        guard root.issuer == root.subject, root.publicKey.isValidSignature(root.signature, for: root) else {
            throw ApplianceError.forbidden("the pinned root certificate is not self-signed")
        }
    }

    static func verifyIntermediate(_ intermediate: Certificate, root: Certificate) throws {
        guard intermediate.issuer == root.subject, root.publicKey.isValidSignature(intermediate.signature, for: intermediate) else {
            throw ApplianceError.forbidden("the intermediate certificate is not signed by the pinned root")
        }
        guard case .isCertificateAuthority(let pathLength)? = try intermediate.extensions.basicConstraints, pathLength == 0 else {
            throw ApplianceError.forbidden("the intermediate certificate must be CA:TRUE with pathLen 0")
        }
        guard let usage = try intermediate.extensions.keyUsage, usage.keyCertSign else {
            throw ApplianceError.forbidden("the intermediate certificate lacks keyUsage keyCertSign")
        }
    }

    /// Moves `source` over `destination` (same directory, atomic rename(2)).
    static func replace(_ source: String, with destination: String) throws {
        guard rename(source, destination) == 0 else {
            throw ApplianceError.stateDirectory("cannot move \(source) to \(destination): \(String(cString: strerror(errno)))")
        }
    }
}
