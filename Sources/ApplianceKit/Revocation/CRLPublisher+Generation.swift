import Foundation
import PKICore
import Registration
import X509

extension CRLPublisher {
    /// One publication of the intermediate's CRL: number from the store (persisted before use),
    /// entries paged from the store with expired certificates pruned, lint + sign + verify in
    /// `CRLSigner`, then the atomic file swap, then the publication record.
    func publishIntermediate() async throws {
        loadInstalledIfNeeded()
        guard !retired else { return }
        if let leadership {
            let leads = try await checkLeadership(leadership).leads
            guard leads else {
                // Another node signs this issuer's CRLs: serve its newest (CRLPublisher+Leadership.swift).
                try await adoptSharedCRL(leadership)
                return
            }
        }
        let allocation = try await store.allocateCRLNumber(issuerSKI: issuerSKI)
        guard allocation.number >= 1, let number = UInt64(exactly: allocation.number) else {
            throw ApplianceError.unavailable("the store allocated an invalid CRL number \(allocation.number)")
        }
        let previous = try await store.lastPublication(issuerSKI: issuerSKI)
        var thisUpdate = clock.now()
        if let last = allocation.lastThisUpdate, thisUpdate < last {
            // The clock stepped back: keep thisUpdate monotonic too, the number increases anyway.
            logger.warning("clock is behind the last CRL's thisUpdate; reusing it", metadata: ["lastThisUpdate": "\(last)"])
            thisUpdate = last
        }
        let nextUpdate = thisUpdate.addingTimeInterval(configuration.validity)
        let started = ContinuousClock.now
        let incremental = !fullRebuildRequested && entryCache != nil
        let entries = try await currentEntries(at: thisUpdate)
        let read = ContinuousClock.now
        let tbs = try TBSCertList(
            issuerCertificate: signer.issuerCertificate, thisUpdate: thisUpdate, nextUpdate: nextUpdate,
            crlNumber: CRLNumber(number))
        let previousNumber = previous.flatMap { UInt64(exactly: $0.number) }.map(CRLNumber.init)
        let signed = try await signer.sign(tbs, entries: entries, previousCRLNumber: previousNumber)
        let built = ContinuousClock.now

        try CRLFiles(state: state).install(
            signed.derEncoded, number: signed.crlNumber, as: fileName,
            replacing: served[.intermediate].map { ($0.der, $0.number) })
        let crl = ServedCRL(
            der: signed.derEncoded, number: signed.crlNumber, thisUpdate: signed.thisUpdate,
            nextUpdate: signed.nextUpdate, entries: signed.entryCount)
        let written = ContinuousClock.now
        served[.intermediate] = crl
        failure = nil
        metrics.registry.set("rootkeeper_crl_publication_failing", labels: ["issuer": metricLabel], to: 0)
        updateGauges(.intermediate, crl)
        // For the other nodes, which serve these bytes (a failure here is a failed publication).
        try await leadership?.storeSharedCRL(issuerSKI: issuerSKI, number: allocation.number, der: signed.derEncoded)
        try await store.recordPublication(
            CRLPublication(
                issuerSKI: issuerSKI, number: allocation.number, thisUpdate: signed.thisUpdate, nextUpdate: signed.nextUpdate,
                entries: signed.entryCount, sizeBytes: signed.derEncoded.count))
        logger.info(
            "published intermediate CRL",
            metadata: [
                "issuer": "\(metricLabel)",
                "number": "\(signed.crlNumber)", "entries": "\(signed.entryCount)", "bytes": "\(signed.derEncoded.count)",
                "mode": "\(incremental ? "incremental" : "full")",
                "ms": "read \(Self.ms(read - started)), sign \(Self.ms(built - read)), write \(Self.ms(written - built))",
            ])
    }

    static func ms(_ duration: Duration) -> Int { Int(duration.seconds * 1000) }

    static func entry(_ record: RevocationRecord) throws -> RevokedCertificate {
        guard let bytes = PKICore.Hex.decode(record.serial), !bytes.isEmpty else {
            throw ApplianceError.unavailable("the store holds a revocation with a malformed serial '\(record.serial)'")
        }
        // Registration and PKICore both model CRLReason with the RFC 5280 §5.3.1 codes.
        // RFC 5280 §5.3.1: "the reason code CRL entry extension SHOULD be absent instead of using
        // the unspecified (0) reasonCode value" — an unspecified revocation is encoded without one.
        let reason = record.reason == .unspecified ? nil : record.reason
        return try RevokedCertificate(
            serialNumber: Certificate.SerialNumber(bytes: bytes), revocationDate: record.revokedAt,
            reason: reason, invalidityDate: record.invalidityDate)
    }

    /// Loads the CRLs already on disk (once) so they are served before the first publication.
    /// A file that does not parse or verify is ignored and logged; it will be replaced.
    func loadInstalledIfNeeded() {
        guard !loaded else { return }
        loaded = true
        let files = CRLFiles(state: state)
        let issuers: [(CRLIssuer, Certificate?)] = [(.intermediate, signer.issuerCertificate), (.root, rootCertificate)]
        for (issuer, certificate) in issuers {
            guard let certificate else { continue }
            do {
                guard let der = try files.current(issuer == .intermediate ? fileName : issuer.rawValue) else { continue }
                let crl = try CertificateRevocationList(derEncoded: der)
                try crl.verifySignature(issuer: certificate)
                let served = ServedCRL(
                    der: der, number: crl.tbsCertList.crlNumber, thisUpdate: crl.tbsCertList.thisUpdate,
                    nextUpdate: crl.tbsCertList.nextUpdate, entries: crl.tbsCertList.revokedCertificates.count)
                self.served[issuer] = served
                updateGauges(issuer, served)
            } catch {
                logger.warning("ignoring the \(issuer.rawValue) CRL on disk", metadata: ["reason": "\(error)"])
            }
        }
    }
}
