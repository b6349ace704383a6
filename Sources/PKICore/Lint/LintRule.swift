import Foundation
import X509

/// Everything a lint rule may look at: the certificate with its placeholder signature value (rules
/// read the TBS and the signature algorithm, never the signature value), the real
/// issuer and what the profile promised.
public struct LintContext: Sendable {
    public let certificate: Certificate
    /// The real issuer's public key (the certificate's own for a self-signed root).
    public let issuerPublicKey: Certificate.PublicKey
    public let issuer: IssuerSummary
    public let kind: ProfileKind
    public let expectedExtendedKeyUsages: [ExtendedKeyUsage.Usage]
    public let expectedPathLength: Int?

    public init(
        certificate: Certificate, issuerPublicKey: Certificate.PublicKey, issuer: IssuerSummary,
        kind: ProfileKind, expectedExtendedKeyUsages: [ExtendedKeyUsage.Usage], expectedPathLength: Int?
    ) {
        self.certificate = certificate
        self.issuerPublicKey = issuerPublicKey
        self.issuer = issuer
        self.kind = kind
        self.expectedExtendedKeyUsages = expectedExtendedKeyUsages
        self.expectedPathLength = expectedPathLength
    }

    /// The context for checking `certificate` against `profile`.
    public init(certificate: Certificate, issuerPublicKey: Certificate.PublicKey, issuer: IssuerSummary, profile: some CertificateProfile) {
        self.init(
            certificate: certificate, issuerPublicKey: issuerPublicKey, issuer: issuer, kind: profile.kind,
            expectedExtendedKeyUsages: profile.extendedKeyUsages, expectedPathLength: profile.pathLengthConstraint)
    }
}

/// One problem a rule found.
public struct LintFinding: Sendable, Hashable, CustomStringConvertible {
    /// The stable rule name (e.g. `e_subject_key_identifier_present`).
    public let rule: String
    /// What is wrong, for people.
    public let message: String
    public var description: String { "\(rule): \(message)" }
}

/// A single lint rule. Each rule lives in its own file under `Lint/Rules/` and cites the RFC
/// section it enforces. Rules never throw: an extension that cannot be decoded is itself a finding.
public protocol LintRule: Sendable {
    /// Stable name, used in findings and errors; never change a published name.
    var name: String { get }
    /// The RFC section the rule enforces.
    var citation: String { get }
    /// Messages for every violation found (empty when the certificate passes).
    func check(_ context: LintContext) -> [String]
}
