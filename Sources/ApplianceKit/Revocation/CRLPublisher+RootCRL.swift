import Foundation
import PKICore
import SecureFiles
import X509

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
        let (der, crl) = try Self.validateRootCRL(
            bundleDirectory: bundleDirectory, root: rootCertificate, installed: served[.root]?.number, now: clock.now())
        let tbs = crl.tbsCertList
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

    /// The checks of a root CRL bundle, shared by the running publisher and the offline
    /// `appliance crl install-root`: MANIFEST, signature by the pinned root, number not lower than
    /// the installed one, not yet expired.
    static func validateRootCRL(
        bundleDirectory: String, root: Certificate, installed: CRLNumber?, now: Date
    ) throws -> (der: [UInt8], crl: CertificateRevocationList) {
        let bundle = try BundleDirectory.read(from: bundleDirectory)
        guard let der = bundle.file("root.crl") else {
            throw ApplianceError.malformed("the bundle \(bundleDirectory) has no root.crl")
        }
        let crl = try CertificateRevocationList(derEncoded: der)
        try crl.verifySignature(issuer: root)
        let tbs = crl.tbsCertList
        if let installed, tbs.crlNumber < installed {
            throw ApplianceError.forbidden(
                "root CRL \(tbs.crlNumber) is older than the installed root CRL \(installed) (RFC 5280 §5.2.3)")
        }
        guard tbs.nextUpdate > now else {
            throw ApplianceError.forbidden("root CRL \(tbs.crlNumber) expired at \(tbs.nextUpdate); run a CRL ceremony")
        }
        return (der, crl)
    }

    /// `appliance crl install-root` while the appliance is stopped: validates the bundle against
    /// the installed root and writes `crl/root.crl` (the previous one goes to `crl/history/`).
    public static func installRootCRLOffline(state: StateDirectory, from bundleDirectory: String, now: Date = Date()) throws -> CRLNumber {
        let root = try IntermediateKeyLoader.loadCertificates(state).root
        let files = CRLFiles(state: state)
        let current = try files.current(.root).map { try CertificateRevocationList(derEncoded: $0) }
        let (der, crl) = try validateRootCRL(
            bundleDirectory: bundleDirectory, root: root, installed: current?.tbsCertList.crlNumber, now: now)
        try files.install(der, number: crl.tbsCertList.crlNumber, as: .root,
                          replacing: current.map { ($0.derEncoded, $0.tbsCertList.crlNumber) })
        return crl.tbsCertList.crlNumber
    }
}
