import Foundation
import PKICore
import SecureFiles

extension CRLPublisher {
    /// Installs the root CRL from a ceremony bundle (`<media>/crl/`: `root.crl` DER + MANIFEST,
    /// DESIGN §3) and serves it as `/crl/root.crl`.
    ///
    /// Refused, leaving the installed CRL in place: a bundle whose MANIFEST does not match, a CRL
    /// whose signature does not verify with the pinned root (or that names another issuer), a CRL
    /// number lower than the installed one (RFC 5280 §5.2.3), a CRL already past its nextUpdate.
    /// Installing the same number again is accepted (idempotent re-install of the same media).
    /// - Returns: the installed CRL number.
    @discardableResult
    public func installRootCRL(from bundleDirectory: String) async throws -> CRLNumber {
        loadInstalledIfNeeded()
        guard let rootCertificate else {
            throw ApplianceError.configuration("ca.root", "no pinned root certificate: cannot verify a root CRL")
        }
        let bundle = try BundleDirectory.read(from: bundleDirectory)
        guard let der = bundle.file("root.crl") else {
            throw ApplianceError.malformed("the bundle \(bundleDirectory) has no root.crl")
        }
        let crl = try CertificateRevocationList(derEncoded: der)
        try crl.verifySignature(issuer: rootCertificate)
        let tbs = crl.tbsCertList
        if let installed = served[.root], tbs.crlNumber < installed.number {
            throw ApplianceError.forbidden(
                "root CRL \(tbs.crlNumber) is older than the installed root CRL \(installed.number) (RFC 5280 §5.2.3)")
        }
        guard tbs.nextUpdate > clock.now() else {
            throw ApplianceError.forbidden("root CRL \(tbs.crlNumber) expired at \(tbs.nextUpdate); run a CRL ceremony")
        }
        try CRLFiles(state: state).install(der, number: tbs.crlNumber, as: .root,
                                           replacing: served[.root].map { ($0.der, $0.number) })
        let installed = ServedCRL(
            der: der, number: tbs.crlNumber, thisUpdate: tbs.thisUpdate, nextUpdate: tbs.nextUpdate,
            entries: tbs.revokedCertificates.count)
        served[.root] = installed
        updateGauges(.root, installed)
        logger.info("installed root CRL", metadata: ["number": "\(tbs.crlNumber)", "entries": "\(installed.entries)"])
        return tbs.crlNumber
    }
}
