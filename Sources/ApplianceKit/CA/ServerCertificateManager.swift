import Crypto
import Foundation
import PKICore
import Registration
import SecureFiles
import X509

/// The appliance's own TLS server certificate (docs/lifecycle.md#server-certificate-rotation): issued from the intermediate on first
/// start and re-issued, with a new P-256 key, from 30 days before expiry — without a restart:
/// ``rotateIfDue(now:)`` swaps the new certificate into the listener's ``ServerCertificateHolder``.
///
/// Files: `server/private/server.key` (0600 in a 0700 directory), `server/server.crt`,
/// `server/server-chain.crt` (server, intermediate, root). Like agent certificates, the server
/// certificate is reserved in the store before it is signed (docs/conventions.md#signing-path).
public final class ServerCertificateManager: Sendable {
    /// Re-issue when less than this remains (docs/lifecycle.md#server-certificate-rotation: 30 days).
    public static let renewBefore: TimeInterval = 30 * 86_400

    /// What goes into the server certificate.
    public struct Identity: Sendable, Equatable {
        public var fqdn: String
        public var dnsNames: [String]
        /// IPv4 (4 octets) or IPv6 (16 octets) addresses.
        public var ipAddresses: [[UInt8]]
        public var validity: TimeInterval
        public init(fqdn: String, dnsNames: [String] = [], ipAddresses: [[UInt8]] = [], validity: TimeInterval = ServerLeafProfile.defaultValidity) {
            self.fqdn = fqdn
            self.dnsNames = dnsNames
            self.ipAddresses = ipAddresses
            self.validity = validity
        }
    }

    let state: StateDirectory
    let ca: IntermediateCA
    let identity: Identity
    private let holder: ServerCertificateHolder?

    /// - Parameter holder: the HTTPS listener's holder to rotate into; `nil` before it exists
    ///   (serve: a manager without holder runs ``rotateIfDue()`` and ``tlsMaterial()``, the holder
    ///   is built from that, and the running manager is built with it — nothing is attached later).
    public init(state: StateDirectory, ca: IntermediateCA, identity: Identity, holder: ServerCertificateHolder? = nil) {
        self.state = state
        self.ca = ca
        self.identity = identity
        self.holder = holder
    }

    /// The current certificate, or `nil` when none has been issued yet.
    public func currentCertificate() throws -> Certificate? {
        guard FileManager.default.fileExists(atPath: state.serverCertificate) else { return nil }
        return try PEMCodec.certificate(from: SecureFile.read(state.serverCertificate))
    }

    /// The chain and key PEM for building the listener's ``ServerCertificateHolder``.
    public func tlsMaterial() throws -> (chainPEM: [UInt8], keyPEM: [UInt8]) {
        try SecureFile.checkPrivateFile(state.serverKey)
        return (try SecureFile.read(state.serverChain), try SecureFile.read(state.serverKey))
    }

    /// Whether a new certificate is needed at `now`: none yet, the key does not match it, it was
    /// issued by an intermediate that is neither current nor retiring, or less than ``renewBefore`` remains.
    public func isDue(now: Date) throws -> Bool {
        guard let current = try currentCertificate(), FileManager.default.fileExists(atPath: state.serverKey) else { return true }
        try SecureFile.checkPrivateFile(state.serverKey)
        let key = try Certificate.PrivateKey(pemEncoded: String(decoding: SecureFile.read(state.serverKey), as: UTF8.self))
        // A certificate from a retiring intermediate is kept during a renewal overlap, so agents
        // that pinned that intermediate keep reaching us; it moves to the current one at its
        // normal rotation or when its issuer retires.
        let issuedByActive = ca.roster.all.contains {
            current.issuer == $0.subject && $0.publicKey.isValidSignature(current.signature, for: current)
        }
        guard key.publicKey == current.publicKey, issuedByActive else { return true }
        return current.notValidAfter.timeIntervalSince(now) <= Self.renewBefore
    }

    /// Issues and installs a new server certificate when ``isDue(now:)``; returns whether it did.
    /// The serve loop calls this periodically; new handshakes use the new certificate at once.
    @discardableResult
    public func rotateIfDue(now: Date) async throws -> Bool {
        guard try isDue(now: now) else { return false }
        try await issue()
        return true
    }

    /// ``rotateIfDue(now:)`` at the CA's clock.
    @discardableResult
    public func rotateIfDue() async throws -> Bool { try await rotateIfDue(now: ca.clock.now()) }

    /// Issues a new key and certificate unconditionally and installs them.
    public func issue() async throws {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let profile = try ServerLeafProfile(
            fqdn: identity.fqdn, organization: ca.settings.organization, dnsNames: identity.dnsNames,
            ipAddresses: identity.ipAddresses, pointers: try ca.settings.pointers(), validity: identity.validity)
        let token = try ca.issuer.prepare(profile: profile, subjectPublicKey: key.publicKey)
        // Through the RA's unit of work, which announces the issuance on its event stream
        // (counted once by the metrics subscriber).
        let reservation = ca.reservation(for: token, type: .server)
        let record = try await ca.authority.reserveOwnCertificate(reservation, details: ["fqdn": identity.fqdn])
        let certificate: Certificate
        do {
            certificate = try await ca.issuer.issue(token)
            try await ca.authority.recordOwnCertificate(record, certificateDER: try PEMCodec.der(certificate))
        } catch {
            // Give the reserved serial back at once (revoked, never reused, audited), as every
            // other issuance path does, rather than leave it to the reservation reaper.
            throw await ca.releaseAfterFailure(serial: record.serial, error)
        }
        let keyPEM = Array((try key.serializeAsPEM().pemString + "\n").utf8)
        // The root is included so agents may pin it (RFC 8446 §4.4.2 allows it): a root pin
        // survives intermediate renewals, an intermediate pin does not.
        let chainPEM = Array(try PEMCodec.pemChain([certificate, ca.intermediate, ca.root]).utf8)
        try SecureFile.createPrivateDirectory(state.serverPrivateDirectory)
        // Key first: a crash before the certificate is written leaves a mismatch that isDue detects.
        try SecureFile.replaceAtomically(keyPEM, at: state.serverKey, mode: 0o600)
        try SecureFile.replaceAtomically(chainPEM, at: state.serverChain, mode: 0o644)
        try SecureFile.replaceAtomically(Array(try PEMCodec.pem(certificate).utf8), at: state.serverCertificate, mode: 0o644)
        try holder?.rotate(chainPEM: chainPEM, keyPEM: keyPEM)
    }
}
