import Foundation
import PKICore
import Registration
import X509

/// The online intermediate CA behind the appliance's seams: EST enrolment and renewal
/// (``CertificateAuthorityService``), administration (``AdministrationService``), revocation
/// status for mTLS (``RevocationChecking``) and registered identities (``AgentRegistry``).
///
/// It decides nothing itself (docs/conventions.md#libraries-decide): CSRs are judged by `CSRPolicy`, enrolments by the
/// `RegistrationAuthority`, and certificates are built, linted and signed by `CertificateIssuer`
/// with the intermediate key (software or PKCS#11). Every signature is preceded by a persisted
/// reservation (docs/conventions.md#signing-path), so the store knows every certificate this CA ever returned.
public struct IntermediateCA: Sendable {
    /// The RA (and through it the store) that decides and records.
    public let authority: RegistrationAuthority
    /// Signs with the current intermediate key.
    public let issuer: CertificateIssuer
    /// The current intermediate certificate (new issuance uses it).
    public let intermediate: Certificate
    /// The current and retiring intermediates (docs/lifecycle.md#intermediate-renewal: renewal with overlap).
    public let roster: IssuerRoster
    /// Retiring intermediates, served in `cacerts` and accepted for mTLS until retired.
    public var previousIntermediates: [Certificate] { roster.retiring }
    /// The pinned root.
    public let root: Certificate
    public let settings: CASettings
    /// Publishes CRLs now for `appliance crl generate` (the appliance's CRL publishers).
    let crlPublication: any CRLPublishing
    /// Lower-case hex SKI of the intermediate, the store's issuer key.
    public let issuerSKI: String
    /// Revocation status and registered agents straight from the store (what the mTLS cache reads through).
    let clientStatus: StoreClientStatus

    /// What the administrative queries read (and the audit log of read-only admin actions). Every
    /// write goes through the RA's unit of work, which tells its event stream.
    public let store: any AdministrationStore
    public var clock: any PKIClock { authority.clock }

    /// - Parameters:
    ///   - authority: the RA over the production store, with the event stream every issuance and
    ///     revocation is announced on (metrics, OCSP, CRL, caches, connections: docs/architecture.md#event-stream).
    ///   - store: the store the administrative queries read — the RA's own, with its audit log.
    ///   - issuer: a `CertificateIssuer` whose issuer certificate is the current intermediate.
    ///   - root: the pinned root; the intermediate must be signed by it.
    ///   - crlPublication: what ``generateCRL(caller:)`` asks to publish now.
    public init(
        authority: RegistrationAuthority, store: any AdministrationStore, issuer: CertificateIssuer, root: Certificate,
        previousIntermediates: [Certificate] = [], roster: IssuerRoster? = nil, settings: CASettings,
        crlPublication: any CRLPublishing
    ) throws {
        guard let intermediate = issuer.issuerCertificate else {
            throw ApplianceError.stateDirectory("the CA issuer has no intermediate certificate (a self-signing issuer cannot be the online CA)")
        }
        guard root.publicKey.isValidSignature(intermediate.signature, for: intermediate) else {
            throw ApplianceError.stateDirectory("the intermediate certificate is not signed by the root")
        }
        guard let ski = try intermediate.extensions.subjectKeyIdentifier else {
            throw ApplianceError.stateDirectory("the intermediate certificate has no subject key identifier")
        }
        _ = try settings.pointers()
        self.authority = authority
        self.store = store
        self.issuer = issuer
        self.intermediate = intermediate
        if let roster, roster.current != intermediate {
            throw ApplianceError.stateDirectory("the issuer roster's current intermediate is not the CA's")
        }
        self.roster = roster ?? IssuerRoster(current: intermediate, retiring: previousIntermediates)
        self.root = root
        self.settings = settings
        self.crlPublication = crlPublication
        self.issuerSKI = PKICore.Hex.encode(ski.keyIdentifier)
        self.clientStatus = StoreClientStatus(store: store)
    }

    /// The chain returned with every issued certificate: intermediate, then root.
    public var chain: [Certificate] { [intermediate, root] }

    /// The serial of `certificate` in the store's form (hex of the DER INTEGER content bytes).
    public static func serialHex(_ certificate: Certificate) -> String {
        CertificateRecord.serialHex(contentBytes: certificate.serialNumber.bytes)
    }
}
