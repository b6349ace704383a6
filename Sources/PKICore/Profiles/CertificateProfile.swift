import Foundation
import X509

/// What kind of certificate a profile makes; lint rules use it to know what to expect.
public enum ProfileKind: String, Sendable, Hashable {
    /// Self-signed trust anchor (CA:TRUE, no pathLen).
    case rootCA
    /// Subordinate CA (CA:TRUE, pathLen 0).
    case intermediateCA
    /// End-entity certificate (CA:FALSE).
    case leaf

    /// True for root and intermediate CAs.
    public var isCA: Bool { self != .leaf }
}

/// What a profile needs to know about the issuer (itself, for a self-signed root).
public struct IssuerSummary: Sendable {
    /// The issuer's subject, which becomes the new certificate's issuer name.
    public var name: DistinguishedName
    /// The issuer's subject key identifier, used as the new certificate's AKI.
    public var keyIdentifier: [UInt8]?
    /// The issuer's validity; a new certificate never outlives it. Nil for a self-signed root.
    public var notValidBefore: Date?
    public var notValidAfter: Date?

    public init(name: DistinguishedName, keyIdentifier: [UInt8]?, notValidBefore: Date?, notValidAfter: Date?) {
        self.name = name
        self.keyIdentifier = keyIdentifier
        self.notValidBefore = notValidBefore
        self.notValidAfter = notValidAfter
    }
}

/// A certificate profile (docs/profiles.md): decides subject, validity and *every* extension from the
/// subject public key and its own configuration. Extensions requested in a CSR are never copied;
/// the profile is the only source.
public protocol CertificateProfile: Sendable {
    /// Stable name used in previews, logs and lint findings (e.g. "agent").
    var name: String { get }
    /// What kind of certificate this profile makes.
    var kind: ProfileKind { get }
    /// The subject distinguished name.
    var subject: DistinguishedName { get }
    /// The extended key usages the profile grants (empty when the profile has no EKU).
    var extendedKeyUsages: [ExtendedKeyUsage.Usage] { get }
    /// The pathLenConstraint the profile sets (only meaningful for CAs).
    var pathLengthConstraint: Int? { get }
    /// The validity period for a certificate issued `now` by `issuer`.
    func validity(now: Date, issuer: IssuerSummary) throws -> ValidityPeriod
    /// The extensions for `subjectKey`, with `issuer` providing the AKI.
    func extensions(subjectKey: Certificate.PublicKey, issuer: IssuerSummary) throws -> Certificate.Extensions
}

extension CertificateProfile {
    public var pathLengthConstraint: Int? { nil }
}
