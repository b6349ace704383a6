import Foundation
import PKICore
import Registration
import X509

/// The entries of the intermediate's CRL kept in memory between generations, so a revocation
/// costs a read of what was revoked since the last CRL instead of a walk of every revocation
/// (docs/performance.md: revoke → listed in the served CRL ≤ 1 s with 1 000 000 entries).
struct CRLEntryCache: Sendable {
    /// The unexpired entries, DER-encoded and linted.
    var list: CRLEntryList
    /// Every revocation with a sequence number up to this one is in ``list`` (or was pruned).
    var sequence: Int64
}

extension CRLPublisher {
    /// The entries of the next CRL at `now`.
    ///
    /// Incremental when a cache exists and no full rebuild is asked for: the revocations numbered
    /// after the cache's sequence are appended (their notAfter looked up in one batch), expired
    /// entries are pruned. Otherwise (start, the scheduled refresh, `crl generate`, after any
    /// failure, or a store without sequence numbers) a full walk of the store rebuilds the list,
    /// so memory can never drift from the database for longer than one refresh interval.
    /// The cache is taken out while it is updated: an error leaves no half-updated cache behind.
    func currentEntries(at now: Date) async throws -> CRLEntryList {
        if !fullRebuildRequested, var cache = entryCache {
            entryCache = nil
            try await appendNewRevocations(to: &cache)
            try cache.list.removeExpired(at: now)
            entryCache = cache
            return cache.list
        }
        entryCache = nil
        // Read the high-water mark before the walk: a revocation committed during the walk is
        // then read again by the next incremental step (and skipped if the walk saw it).
        let sequence = try await store.revocationSequence(issuerSKI: issuerSKI)
        let list = try await walkUnexpiredEntries(at: now)
        if let sequence { entryCache = CRLEntryCache(list: list, sequence: sequence) }
        fullRebuildRequested = false
        return list
    }

    /// Appends the revocations numbered after `cache.sequence`, in pages.
    func appendNewRevocations(to cache: inout CRLEntryCache) async throws {
        while true {
            let page = try await store.revocations(issuerSKI: issuerSKI, afterSequence: cache.sequence, limit: configuration.pageSize)
            guard let last = page.last else { return }
            let expiries = try await expiry.notAfter(serials: page.map(\.record.serial))
            for revocation in page {
                let entry = try publishableEntry(revocation.record, omitted: &omittedReasons)
                // Committed during the full walk that built the cache: already listed.
                if try cache.list.contains(entry.serialNumber) { continue }
                try cache.list.append(entry, notAfter: expiries[revocation.record.serial])
            }
            cache.sequence = last.sequence
            if page.count < configuration.pageSize { return }
        }
    }

    /// The issuer's revocations whose certificates have not expired at `now`, in serial order.
    /// An entry whose certificate record cannot be found is kept (fail closed).
    func walkUnexpiredEntries(at now: Date) async throws -> CRLEntryList {
        let expected = try await store.revocationCount(issuerSKI: issuerSKI)
        var list = CRLEntryList(expectedEntries: expected)
        var omitted: [String: RevocationReason] = [:]
        for try await page in store.revokedPages(issuerSKI: issuerSKI, pageSize: configuration.pageSize) {
            let expiries = try await expiry.notAfter(serials: page.map(\.serial))
            for record in page {
                let notAfter = expiries[record.serial]
                if let notAfter, notAfter < now { continue }
                try list.append(try publishableEntry(record, omitted: &omitted), notAfter: notAfter)
            }
        }
        omittedReasons = omitted
        return list
    }

    /// The CRL entry of `record`. A reason a full CRL cannot carry (removeFromCRL, certificateHold:
    /// ``RevocationReason/isAcceptedForRevocation``) — only possible for a row written before
    /// such reasons were refused, or by hand — must neither stop publication of every other
    /// entry (the lint would refuse the whole CRL) nor un-revoke the certificate: the entry is
    /// listed without a reason code (RFC 5280 §5.3.1 allows an absent reason) and recorded in
    /// `omitted` for the metric, the log and `/health`.
    func publishableEntry(_ record: RevocationRecord, omitted: inout [String: RevocationReason]) throws -> RevokedCertificate {
        guard let reason = record.reason, !reason.isAcceptedForRevocation else { return try Self.entry(record) }
        if omitted[record.serial] == nil {
            logger.error(
                "revocation listed on the CRL without its reason: the stored reason cannot appear on a full CRL",
                metadata: [
                    "issuer": "\(issuerSKI)", "serial": "\(record.serial)", "stored_reason": "\(reason.name)",
                ])
        }
        omitted[record.serial] = reason
        var listed = record
        listed.reason = nil
        return try Self.entry(listed)
    }
}
