import Foundation
import PKICore
import SecureFiles
import X509

extension CRLPublisher {
    /// Installs the root CRL from a ceremony bundle (`<media>/crl/`: `root.crl` DER + MANIFEST,
    /// docs/ceremony.md#crl-ceremony) and serves it as `/crl/root.crl`.
    ///
    /// Refused, leaving the installed CRL in place: a bundle whose MANIFEST does not match, a CRL
    /// whose signature does not verify with the pinned root (or that names another issuer), a CRL
    /// whose number is not higher than the installed one (RFC 5280 §5.2.3) unless it is the very
    /// same CRL, a CRL that drops a serial the installed one lists, a CRL already past its
    /// nextUpdate. Installing the byte-identical CRL again is accepted (re-install of the same media).
    /// - Returns: the installed CRL number.
    @discardableResult
    public func installRootCRL(from bundleDirectory: String) async throws -> CRLNumber {
        loadInstalledIfNeeded()
        guard let rootCertificate else {
            throw ApplianceError.configuration("ca.root", "no pinned root certificate: cannot verify a root CRL")
        }
        let installedCRL = try served[.root].map { try CertificateRevocationList(derEncoded: $0.der) }
        let (der, crl) = try Self.validateRootCRL(
            bundleDirectory: bundleDirectory, root: rootCertificate, installed: installedCRL, now: clock.now())
        let tbs = crl.tbsCertList
        let files = CRLFiles(state: state)
        try files.install(der, number: tbs.crlNumber, as: .root, replacing: served[.root].map { ($0.der, $0.number) })
        rootFileStamp = CRLFileStamp(path: files.currentPath(.root))
        let installed = ServedCRL(
            der: der, number: tbs.crlNumber, thisUpdate: tbs.thisUpdate, nextUpdate: tbs.nextUpdate,
            entries: tbs.revokedCertificates.count)
        served[.root] = installed
        updateGauges(.root, installed)
        logger.info("installed root CRL", metadata: ["number": "\(tbs.crlNumber)", "entries": "\(installed.entries)"])
        return tbs.crlNumber
    }

    /// The checks of a root CRL bundle, shared by the running publisher and the offline
    /// `appliance crl install-root`: MANIFEST, signature by the pinned root, a successor of the
    /// installed CRL (``checkSuccession(of:after:)``), not yet expired.
    static func validateRootCRL(
        bundleDirectory: String, root: Certificate, installed: CertificateRevocationList?, now: Date
    ) throws -> (der: [UInt8], crl: CertificateRevocationList) {
        let bundle = try BundleDirectory.read(from: bundleDirectory)
        guard let der = bundle.file("root.crl") else {
            throw ApplianceError.malformed("the bundle \(bundleDirectory) has no root.crl")
        }
        let crl = try CertificateRevocationList(derEncoded: der)
        try crl.verifySignature(issuer: root)
        let tbs = crl.tbsCertList
        if let installed { try checkSuccession(of: crl, after: installed) }
        guard tbs.nextUpdate > now else {
            throw ApplianceError.forbidden("root CRL \(tbs.crlNumber) expired at \(tbs.nextUpdate); run a CRL ceremony")
        }
        return (der, crl)
    }

    /// Whether `crl` may replace `installed`: the same CRL byte for byte (a re-install), or a higher
    /// number (RFC 5280 §5.2.3: CRL numbers increase monotonically) that still lists every serial
    /// the installed one lists. A root CRL that "forgets" a revocation is how a rolled-back root
    /// database would un-revoke an intermediate (docs/root-database.md); certificateHold is the
    /// only reason an entry may lawfully leave a CRL (§5.3.1), and the root never uses it.
    static func checkSuccession(of crl: CertificateRevocationList, after installed: CertificateRevocationList) throws {
        if crl.derEncoded == installed.derEncoded { return }
        let number = crl.tbsCertList.crlNumber
        let installedNumber = installed.tbsCertList.crlNumber
        if number < installedNumber {
            throw ApplianceError.forbidden(
                "root CRL \(number) is older than the installed root CRL \(installedNumber) (RFC 5280 §5.2.3); nothing was installed")
        }
        guard number > installedNumber else {
            throw ApplianceError.forbidden(
                "root CRL \(number) has the number of the installed root CRL but different content: a CRL number names one CRL only "
                    + "(RFC 5280 §5.2.3). Install the newest crl-<number>/ from the ceremony media; nothing was installed")
        }
        let kept = Set(crl.tbsCertList.revokedCertificates.map { Array($0.serialNumber.bytes) })
        let dropped = installed.tbsCertList.revokedCertificates.filter { !kept.contains(Array($0.serialNumber.bytes)) }
        guard dropped.isEmpty else {
            let serials = dropped.map { Array($0.serialNumber.bytes).hexString }.joined(separator: ", ")
            throw ApplianceError.forbidden(
                "root CRL \(number) drops serial \(serials), which the installed root CRL \(installedNumber) lists as revoked: a revocation "
                    + "never lapses. The root database it was made from is older than the installed CRL; stop and check the ceremony media "
                    + "(Runbooks/root-crl-reissue.md); nothing was installed")
        }
    }

    /// `appliance crl install-root` while the appliance is stopped: validates the bundle against
    /// the installed root and writes `crl/root.crl` (the previous one goes to `crl/history/`).
    public static func installRootCRLOffline(state: StateDirectory, from bundleDirectory: String, now: Date = Date()) throws -> CRLNumber {
        let root = try IntermediateKeyLoader.loadCertificates(state).root
        let files = CRLFiles(state: state)
        let current = try files.current(.root).map { try CertificateRevocationList(derEncoded: $0) }
        let (der, crl) = try validateRootCRL(bundleDirectory: bundleDirectory, root: root, installed: current, now: now)
        try files.install(
            der, number: crl.tbsCertList.crlNumber, as: .root,
            replacing: current.map { ($0.derEncoded, $0.tbsCertList.crlNumber) })
        // Run as root by an administrator while the appliance (the state directory's owner) may be
        // serving: hand the new files to that owner so the service can replace them later.
        try files.matchOwnerOfStateDirectory(.root, number: current?.tbsCertList.crlNumber)
        return crl.tbsCertList.crlNumber
    }

    /// Serves a root CRL that `appliance crl install-root` wrote while the appliance was running.
    ///
    /// Called on every `/crl/root.crl` request and on the publisher's tick; costs one `stat` when
    /// nothing changed. The file is checked exactly as at start (signature by the pinned root) and
    /// must not go backwards (RFC 5280 §5.2.3); anything else is logged and the served CRL stays.
    func refreshRootCRLFromDisk() {
        guard let rootCertificate else { return }
        let files = CRLFiles(state: state)
        let stamp = CRLFileStamp(path: files.currentPath(.root))
        guard let stamp, stamp != rootFileStamp else { return }
        rootFileStamp = stamp
        do {
            guard let der = try files.current(.root) else { return }
            let crl = try CertificateRevocationList(derEncoded: der)
            try crl.verifySignature(issuer: rootCertificate)
            let tbs = crl.tbsCertList
            if let current = served[.root] {
                guard der != current.der else { return }
                do {
                    try Self.checkSuccession(of: crl, after: try CertificateRevocationList(derEncoded: current.der))
                } catch {
                    logger.error(
                        "crl/root.crl on disk may not replace the served root CRL; keeping the served one",
                        metadata: ["on_disk": "\(tbs.crlNumber)", "served": "\(current.number)", "reason": "\(error)"])
                    return
                }
            }
            let installed = ServedCRL(
                der: der, number: tbs.crlNumber, thisUpdate: tbs.thisUpdate, nextUpdate: tbs.nextUpdate,
                entries: tbs.revokedCertificates.count)
            served[.root] = installed
            updateGauges(.root, installed)
            logger.info(
                "serving the root CRL installed by `appliance crl install-root`",
                metadata: ["number": "\(tbs.crlNumber)", "entries": "\(installed.entries)"])
        } catch {
            logger.error("crl/root.crl on disk is not a valid root CRL; keeping the served one", metadata: ["reason": "\(error)"])
        }
    }
}

/// What identifies one version of a file cheaply: inode, size and modification time. An atomic
/// replace (write-then-rename) always changes the inode.
struct CRLFileStamp: Equatable, Sendable {
    let inode: UInt64
    let size: Int64
    let modified: Int64

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }
}
