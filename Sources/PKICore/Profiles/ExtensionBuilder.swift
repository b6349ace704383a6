import SwiftASN1
import X509

/// Builds the extensions the profiles share, so each profile file only states its choices.
struct ExtensionBuilder {
    private(set) var extensions = Certificate.Extensions()

    /// basicConstraints, always critical (RFC 5280 §4.2.1.9 requires it for CAs; we mark leaves
    /// critical too, as the CA/B profiles allow, so no relying party ignores CA:FALSE).
    mutating func basicConstraints(isCA: Bool, pathLength: Int?) throws {
        let value: BasicConstraints = isCA ? .isCertificateAuthority(maxPathLength: pathLength) : .notCertificateAuthority
        try extensions.append(Certificate.Extension(value, critical: true))
    }

    /// keyUsage, critical (RFC 5280 §4.2.1.3). CAs: keyCertSign + cRLSign. Leaves: digitalSignature,
    /// plus keyEncipherment for RSA (RSA key transport in TLS 1.2); EC keys cannot encipher.
    mutating func keyUsage(isCA: Bool, subjectKey: Certificate.PublicKey, digitalSignatureForCA: Bool = false) throws {
        let isRSA = subjectKey.keyAlgorithm?.isRSA ?? false
        let usage =
            isCA
            ? KeyUsage(digitalSignature: digitalSignatureForCA, keyCertSign: true, cRLSign: true)
            : KeyUsage(digitalSignature: true, keyEncipherment: isRSA)
        try extensions.append(Certificate.Extension(usage, critical: true))
    }

    /// extKeyUsage, non-critical (RFC 5280 §4.2.1.12), omitted when empty.
    mutating func extendedKeyUsage(_ usages: [ExtendedKeyUsage.Usage]) throws {
        guard !usages.isEmpty else { return }
        try extensions.append(Certificate.Extension(try ExtendedKeyUsage(usages), critical: false))
    }

    /// SKI by RFC 5280 §4.2.1.2 method 1 (SHA-1 of the subjectPublicKey BIT STRING contents).
    mutating func subjectKeyIdentifier(_ subjectKey: Certificate.PublicKey) throws {
        try extensions.append(Certificate.Extension(SubjectKeyIdentifier(hash: subjectKey), critical: false))
    }

    /// AKI = the issuer's SKI (RFC 5280 §4.2.1.1), keyIdentifier form only.
    mutating func authorityKeyIdentifier(_ issuer: IssuerSummary) throws {
        guard let keyIdentifier = issuer.keyIdentifier else {
            throw PKIError.invalidParameter("the issuer certificate has no subject key identifier to use as AKI")
        }
        try extensions.append(Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: keyIdentifier[...]), critical: false))
    }

    /// subjectAltName (RFC 5280 §4.2.1.6); non-critical because the subject is non-empty.
    mutating func subjectAlternativeNames(_ names: [GeneralName]) throws {
        guard !names.isEmpty else { return }
        try extensions.append(Certificate.Extension(SubjectAlternativeNames(names), critical: false))
    }

    /// CRL distribution point and AIA (OCSP, caIssuers) as configured.
    mutating func revocationPointers(_ pointers: RevocationPointers, includeOCSP: Bool = true) throws {
        if let crl = pointers.crlURL {
            try extensions.append(CRLDistributionPointsExtension.make(url: crl))
        }
        var descriptions: [AuthorityInformationAccess.AccessDescription] = []
        if includeOCSP, let ocsp = pointers.ocspURL {
            descriptions.append(.init(method: .ocspServer, location: .uniformResourceIdentifier(ocsp)))
        }
        if let issuers = pointers.caIssuersURL {
            descriptions.append(.init(method: .issuingCA, location: .uniformResourceIdentifier(issuers)))
        }
        if !descriptions.isEmpty {
            try extensions.append(Certificate.Extension(AuthorityInformationAccess(descriptions), critical: false))
        }
    }

    /// Appends a prepared extension.
    mutating func append(_ ext: Certificate.Extension) throws { try extensions.append(ext) }
}
