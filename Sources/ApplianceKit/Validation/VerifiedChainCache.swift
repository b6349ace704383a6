import Foundation
import X509

/// Chains that passed RFC 5280 path validation, keyed by the leaf's ``CertificateIdentity``.
///
/// What a hit may skip is only what cannot change for the same bytes: the signatures along the
/// chain and the time-independent extension checks (basic constraints, key usage, name
/// constraints, critical extensions). What can change is re-checked by ``ClientTrust`` on every
/// hit: the validity period of every chain element at the request's time (RFC 5280 §6.1.3 (a)(2))
/// and that each issuer in the chain is still the pinned root or a current intermediate. Not
/// thread-safe: ``ClientTrust`` keeps it inside its lock.
struct VerifiedChainCache {
    /// Entries beyond this clear the cache (a flood of distinct client certificates must not grow
    /// memory without bound; a cleared cache only costs re-verification).
    let capacity: Int
    private(set) var generation: UInt64 = 0
    private var chains: [CertificateIdentity: Entry] = [:]

    /// A verified chain (leaf first, root last) and its issuers' identities (every element but
    /// the leaf), made once at insertion so a hit hashes no certificate.
    struct Entry {
        let chain: [Certificate]
        let issuers: [CertificateIdentity]

        init(_ chain: [Certificate]) {
            self.chain = chain
            self.issuers = chain.dropFirst().map(CertificateIdentity.init)
        }
    }

    /// The anchors a remembered chain is re-checked against: the pinned root's identity and the
    /// current intermediates' (made when they change, not per request).
    struct Anchors {
        let root: CertificateIdentity
        let intermediates: Set<CertificateIdentity>

        init(root: Certificate, intermediates: [Certificate]) {
            self.root = CertificateIdentity(root)
            self.intermediates = Set(intermediates.map(CertificateIdentity.init))
        }
    }

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { chains.count }

    func chain(for leaf: CertificateIdentity) -> Entry? { chains[leaf] }

    /// Records `chain` (leaf first, root last) unless the trust changed since `generation` was read.
    mutating func insert(_ chain: [Certificate], for leaf: CertificateIdentity, ifGeneration expected: UInt64) {
        guard expected == generation else { return }
        if chains.count >= capacity { chains.removeAll(keepingCapacity: true) }
        chains[leaf] = Entry(chain)
    }

    /// Forgets every chain (the set of current intermediates changed).
    mutating func removeAll() {
        generation &+= 1
        chains.removeAll()
    }

    /// Why the cached `entry` no longer holds at `now` given the current anchors, or `nil`.
    static func recheck(_ entry: Entry, now: Date, anchors: Anchors) -> String? {
        guard entry.chain.count >= 2, entry.issuers.last == anchors.root else {
            return "client certificate does not verify: no chain to the pinned root"
        }
        for (issuer, key) in zip(entry.chain.dropFirst(), entry.issuers).dropLast() where !anchors.intermediates.contains(key) {
            return "client certificate does not verify: its issuer \(issuer.subject) is no longer a current intermediate"
        }
        for element in entry.chain where !(element.notValidBefore <= now && now <= element.notValidAfter) {
            return "client certificate does not verify: \(element.subject) is outside its validity period"
        }
        return nil
    }
}
