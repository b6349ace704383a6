import Foundation
import X509

/// Signs certificates: the one place in Rootkeeper that does (docs/conventions.md#libraries-decide, docs/conventions.md#signing-path).
///
/// `prepare` builds the certificate from a profile with a placeholder signature value of the
/// issuer's algorithm (``PlaceholderSigner``: no signature is computed for the lint copy) and runs
/// the ``Linter`` on it; `issue` consumes the resulting token, signs for
/// real through the asynchronous signing path (so an HSM `CustomPrivateKey` can do its blocking
/// work off the cooperative pool), requires the TBS to be byte-identical to the linted one and
/// verifies the signature with the issuer's public key. Root self-signing uses the same path.
public struct CertificateIssuer: Sendable {
    /// The issuer certificate, or nil when this issuer self-signs (a root).
    public let issuerCertificate: Certificate?
    /// The issuer's signing key (software or `CustomPrivateKey`).
    public let privateKey: Certificate.PrivateKey
    let clock: any PKIClock
    let serials: any SerialNumberSource
    let linter: Linter
    let issuerAlgorithm: KeyAlgorithm
    /// The signing key's public half and its SPKI SHA-256, computed once: deriving them from the
    /// private key re-encodes the EC point (an affine conversion, a field inversion) on every call,
    /// and `prepare` and `issue` each needed them per certificate (issue #17 profile).
    let signingPublicKey: Certificate.PublicKey
    let signingSPKISHA256: [UInt8]
    /// The key that verifies this issuer's signatures: the issuer certificate's, or the signing key's own for a root.
    let verifyingPublicKey: Certificate.PublicKey
    /// The algorithm every certificate from this issuer is signed with: Rootkeeper's choice for
    /// the key type (``KeyAlgorithm/signatureAlgorithm``) when the key supports it, otherwise the
    /// key's own first choice (a hardware key may offer fewer), which the linter then judges.
    public let signatureAlgorithm: Certificate.SignatureAlgorithm

    /// An issuer that signs under `issuerCertificate`. Refuses a private key that does not belong
    /// to the certificate, and an issuer certificate without an SKI (needed for the AKI).
    public init(
        issuerCertificate: Certificate, privateKey: Certificate.PrivateKey, clock: any PKIClock,
        random: any RandomSource, serials: (any SerialNumberSource)? = nil, linter: Linter = Linter()
    ) throws {
        guard privateKey.publicKey == issuerCertificate.publicKey else {
            throw PKIError.invalidParameter("the issuer private key does not belong to the issuer certificate")
        }
        try self.init(certificate: issuerCertificate, privateKey: privateKey, clock: clock, random: random, serials: serials, linter: linter)
    }

    /// An issuer that self-signs (root CA ceremonies).
    public static func selfSigned(
        privateKey: Certificate.PrivateKey, clock: any PKIClock, random: any RandomSource,
        serials: (any SerialNumberSource)? = nil, linter: Linter = Linter()
    ) throws -> CertificateIssuer {
        try CertificateIssuer(certificate: nil, privateKey: privateKey, clock: clock, random: random, serials: serials, linter: linter)
    }

    private init(
        certificate: Certificate?, privateKey: Certificate.PrivateKey, clock: any PKIClock,
        random: any RandomSource, serials: (any SerialNumberSource)?, linter: Linter
    ) throws {
        guard let algorithm = privateKey.publicKey.keyAlgorithm else {
            throw PKIError.unsupported("the issuer key is not RSA-2048/3072/4096, P-256 or P-384")
        }
        self.issuerCertificate = certificate
        self.privateKey = privateKey
        self.clock = clock
        self.serials = serials ?? SerialNumberGenerator(random: random)
        self.linter = linter
        self.issuerAlgorithm = algorithm
        let signingPublicKey = privateKey.publicKey
        self.signingPublicKey = signingPublicKey
        self.signingSPKISHA256 = signingPublicKey.spkiSHA256
        self.verifyingPublicKey = certificate?.publicKey ?? signingPublicKey
        let supported = privateKey.supportedSignatureAlgorithms
        guard let chosen = supported.contains(algorithm.signatureAlgorithm) ? algorithm.signatureAlgorithm : supported.first else {
            throw PKIError.unsupported("the issuer key offers no signature algorithm")
        }
        self.signatureAlgorithm = chosen
    }

    /// What the profile needs to know about this issuer when signing for `profile`'s subject.
    func issuerSummary(selfSubject: DistinguishedName) throws -> IssuerSummary {
        guard let issuerCertificate else {
            return IssuerSummary(
                name: selfSubject, keyIdentifier: Array(SubjectKeyIdentifier(hash: signingPublicKey).keyIdentifier),
                notValidBefore: nil, notValidAfter: nil)
        }
        guard let ski = try issuerCertificate.extensions.subjectKeyIdentifier else {
            throw PKIError.invalidParameter("the issuer certificate has no subject key identifier")
        }
        return IssuerSummary(
            name: issuerCertificate.subject, keyIdentifier: Array(ski.keyIdentifier),
            notValidBefore: issuerCertificate.notValidBefore, notValidAfter: issuerCertificate.notValidAfter)
    }

    /// Builds (with a placeholder signature value) and lints a certificate for `subjectPublicKey` under `profile`.
    ///
    /// - Throws: `PKIError.lint` naming the failing rule; `.invalidParameter` for a profile that
    ///   cannot be applied (e.g. the issuer is expired); `.unsupported` for odd keys.
    public func prepare(profile: some CertificateProfile, subjectPublicKey: Certificate.PublicKey) throws -> IssuanceToken {
        if issuerCertificate == nil, subjectPublicKey != signingPublicKey {
            throw PKIError.invalidParameter("a self-signed certificate must certify the signing key itself")
        }
        let issuer = try issuerSummary(selfSubject: profile.subject)
        let now = clock.now()
        let validity = try profile.validity(now: now, issuer: issuer)
        let extensions = try profile.extensions(subjectKey: subjectPublicKey, issuer: issuer)
        let serial = try serials.next()
        let placeholder = Certificate.PrivateKey(PlaceholderSigner(publicKey: signingPublicKey, algorithm: signatureAlgorithm))
        let linted: Certificate
        do {
            linted = try Certificate(
                version: .v3, serialNumber: serial, publicKey: subjectPublicKey,
                notValidBefore: validity.notBefore, notValidAfter: validity.notAfter,
                issuer: issuer.name, subject: profile.subject,
                signatureAlgorithm: signatureAlgorithm, extensions: extensions,
                issuerPrivateKey: placeholder)
        } catch {
            throw PKIError.signing("could not build the \(profile.name) certificate: \(error)")
        }
        try linter.requirePasses(LintContext(certificate: linted, issuerPublicKey: verifyingPublicKey, issuer: issuer, profile: profile))
        return IssuanceToken(lintedCertificate: linted, profileName: profile.name, issuerSPKISHA256: signingSPKISHA256)
    }

    /// Verifies the CSR's proof of possession, then prepares as for a bare public key. The CSR's
    /// subject and requested extensions are ignored: the profile decides.
    public func prepare(profile: some CertificateProfile, csr: CertificateSigningRequest) throws -> IssuanceToken {
        try CSRDecoder.verifyProofOfPossession(csr)
        return try prepare(profile: profile, subjectPublicKey: csr.publicKey)
    }

    /// Signs the prepared certificate for real, once. Requires the TBS to equal the linted bytes and
    /// verifies the final signature with the issuer public key (the one verification after
    /// signing) before returning.
    public func issue(_ token: consuming IssuanceToken) async throws -> Certificate {
        guard token.issuerSPKISHA256 == signingSPKISHA256 else {
            throw PKIError.signing("this token was prepared by a different issuer")
        }
        let template = token.lintedCertificate
        let certificate: Certificate
        do {
            certificate = try await Certificate(
                version: template.version, serialNumber: template.serialNumber, publicKey: template.publicKey,
                notValidBefore: template.notValidBefore, notValidAfter: template.notValidAfter,
                issuer: template.issuer, subject: template.subject, signatureAlgorithm: template.signatureAlgorithm,
                extensions: template.extensions, issuerAsyncPrivateKey: privateKey)
        } catch {
            throw PKIError.signing("the issuer key failed to sign serial \(template.serialNumber): \(error)")
        }
        guard Array(certificate.tbsCertificateBytes) == token.tbsCertificateBytes else {
            throw PKIError.signing("the signed TBSCertificate differs from the linted one")
        }
        guard verifyingPublicKey.isValidSignature(certificate.signature, for: certificate) else {
            throw PKIError.signing("the new certificate's signature does not verify with the issuer public key")
        }
        return certificate
    }
}
