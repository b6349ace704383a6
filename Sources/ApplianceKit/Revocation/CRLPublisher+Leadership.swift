import CAStore
import Foundation
import PKICore
import X509

/// Several nodes on one store (docs/architecture.md#crl-leadership): one node at a time signs an
/// issuer's CRLs — the one holding the store's publisher lock (``CRLLeadership``) — and stores
/// each CRL's bytes; every other node serves those bytes, checked (signature, issuer, number)
/// before it replaces what it serves. Each node re-asks once a ``Configuration/leadershipInterval``:
/// the leader keeps its lock alive, a follower picks up newer CRLs, and takes the lock as soon as
/// the leader's connection is gone (its process killed, its host lost) — then publishes a fresh
/// CRL at once from a full read of the store, so nothing a dead leader had not yet listed waits.
extension CRLPublisher {
    /// Asks the store whether this node leads the issuer's CRL; records a change (log, gauge).
    /// Returns whether this node leads and whether it has just become the leader.
    func checkLeadership(_ leadership: any CRLLeadership) async throws -> (leads: Bool, gained: Bool) {
        let leads: Bool
        do {
            leads = try await leadership.holdsCRLLeadership(issuerSKI: issuerSKI)
        } catch {
            _ = setLeading(false)
            throw error
        }
        return (leads, setLeading(leads))
    }

    /// Records whether this node leads; true when it has just gained the lead.
    func setLeading(_ leads: Bool) -> Bool {
        let changed = leading != leads
        leading = leads
        guard changed else { return false }
        metrics.registry.set("rootkeeper_crl_leader", labels: ["issuer": metricLabel], to: leads ? 1 : 0)
        if leads {
            logger.notice("this node now publishes the CRL of issuer \(issuerSKI) (it holds the publisher lock)")
            // The previous leader may have died between a revocation and its CRL: rebuild in full.
            fullRebuildRequested = true
            return true
        }
        logger.info("another node publishes the CRL of issuer \(issuerSKI); this node serves the CRL it stores")
        entryCache = nil
        fullRebuildRequested = true
        return false
    }

    /// Serves the leader's newer CRL, if there is one: parsed, its signature verified with this
    /// issuer's certificate and its number checked, then installed like a CRL of this node's own
    /// (history kept, atomic swap). A CRL that does not verify is refused with the reason.
    func adoptSharedCRL(_ leadership: any CRLLeadership) async throws {
        let servedNumber = served[.intermediate].map { Self.int64($0.number) } ?? 0
        guard let shared = try await leadership.sharedCRL(issuerSKI: issuerSKI, newerThan: servedNumber) else {
            // Nothing newer: what this node serves is the current CRL.
            clearFailure()
            return
        }
        let crl: CertificateRevocationList
        do {
            crl = try CertificateRevocationList(derEncoded: shared.der)
            try crl.verifySignature(issuer: signer.issuerCertificate)
        } catch {
            throw ApplianceError.unavailable(
                "the CRL \(shared.number) another node stored for issuer \(issuerSKI) does not verify with this node's issuer certificate: \(error)"
            )
        }
        let number = crl.tbsCertList.crlNumber
        // Another adoption may have run while this one waited for the store.
        if let current = served[.intermediate], Self.int64(current.number) >= shared.number { return }
        guard Self.int64(number) == shared.number else {
            throw ApplianceError.unavailable(
                "the CRL another node stored for issuer \(issuerSKI) is numbered \(number), its record says \(shared.number)")
        }
        try CRLFiles(state: state).install(
            shared.der, number: number, as: fileName, replacing: served[.intermediate].map { ($0.der, $0.number) })
        let adopted = ServedCRL(
            der: shared.der, number: number, thisUpdate: crl.tbsCertList.thisUpdate, nextUpdate: crl.tbsCertList.nextUpdate,
            entries: crl.tbsCertList.revokedCertificates.count)
        served[.intermediate] = adopted
        clearFailure()
        updateGauges(.intermediate, adopted)
        logger.info(
            "serving the intermediate CRL published by another node",
            metadata: ["issuer": "\(metricLabel)", "number": "\(number)", "entries": "\(adopted.entries)"])
    }

    func clearFailure() {
        guard failure != nil else { return }
        failure = nil
        metrics.registry.set("rootkeeper_crl_publication_failing", labels: ["issuer": metricLabel], to: 0)
    }

    /// The shared-store tick: the leader keeps its lock and refreshes when due (or at once when
    /// it has just taken over); a follower serves the leader's newer CRL. A failure to ask is a
    /// publication failure only once the CRL served is due for a refresh nobody here can make.
    func tickShared(_ leadership: any CRLLeadership) async {
        do {
            let (leads, gained) = try await checkLeadership(leadership)
            if leads {
                if gained || failure != nil || isDue() {
                    fullRebuildRequested = true
                    trigger()
                }
            } else if generation == nil {
                try await adoptSharedCRL(leadership)
            }
            sharedProblem = nil
        } catch {
            if isDue() {
                recordFailure(error)
            } else if sharedProblem == nil {
                logger.warning("CRL: cannot ask the shared store who publishes issuer \(issuerSKI)'s CRL: \(error)")
            }
            sharedProblem = "\(error)"
        }
    }

    /// A CRL number as the store keeps it (numbers this appliance allocates fit in 63 bits).
    static func int64(_ number: CRLNumber) -> Int64 {
        guard number.magnitude.count <= 8 else { return Int64.max }
        let value = number.magnitude.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int64(clamping: value)
    }
}
