import ApplianceKit
import CAStore
import Foundation
import Logging
import PKICore
import Registration
import TestSupport
import Testing
import X509

/// After a revocation the publisher appends the revocations numbered since its last CRL to the
/// entries it keeps in memory instead of walking the whole store (docs/performance.md: revoke → CRL ≤ 1 s
/// at 1 000 000 entries). These tests hold that path to the result of a full rebuild.
@Suite("CRL publisher: incremental generation after a revocation")
struct CRLPublisherIncrementalTests {
    /// The entries of the served CRL, verified with the intermediate.
    static func served(_ publisher: CRLPublisher, _ h: CAHarness) async throws -> (number: CRLNumber, entries: Set<RevokedCertificate>) {
        let crl = try CertificateRevocationList(derEncoded: #require(await publisher.currentCRL(issuer: .intermediate)))
        try crl.verifySignature(issuer: h.pki.intermediate)
        return (crl.tbsCertList.crlNumber, Set(crl.tbsCertList.revokedCertificates))
    }

    func makePublisher(_ h: CAHarness, store: WalkCountingStore, clock: any PKIClock) throws -> CRLPublisher {
        try CRLPublisher(
            issuerCertificate: h.pki.intermediate, privateKey: h.pki.intermediateKey, rootCertificate: h.pki.root,
            store: store, expiry: h.store, stateDirectory: h.state, configuration: CRLPublisher.Configuration(pageSize: 2),
            clock: clock, metrics: h.metrics, logger: Logger(label: "test.crl"))
    }

    @Test("each revocation is listed without a walk of the store, numbers increase, and the entries equal a CRL rebuilt from scratch")
    func incrementalEqualsRebuild() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let counting = WalkCountingStore(h.store)
        let publisher = try makePublisher(h, store: counting, clock: h.pki.clock)
        var leaves: [TestPKI.Leaf] = []
        for index in 0..<7 { leaves.append(try await h.issue("inc-\(index)")) }
        for leaf in leaves.prefix(3) { try await h.revokeInStore(leaf) }
        try await publisher.publishNow()
        let walks = counting.walkPages
        #expect(walks > 0)
        var number = try await Self.served(publisher, h).number

        let reasons: [Registration.RevocationReason] = [.superseded, .unspecified, .cessationOfOperation, .keyCompromise]
        for (leaf, reason) in zip(leaves.dropFirst(3), reasons) {
            try await h.revokeInStore(leaf, reason: reason)
            await publisher.revocationOccurred()
            await publisher.waitUntilIdle()
            let served = try await Self.served(publisher, h)
            #expect(served.number > number)
            number = served.number
            #expect(served.entries.contains { $0.serialNumber == leaf.certificate.serialNumber })
        }
        #expect(counting.walkPages == walks, "a revocation must not walk every revocation of the store")
        #expect(await publisher.health == .healthy)

        let incremental = try await Self.served(publisher, h)
        #expect(incremental.entries.count == 7)
        // A fresh publisher rebuilds from the store alone.
        let rebuilt = try h.publisher()
        try await rebuilt.publishNow()
        let fromScratch = try await Self.served(rebuilt, h)
        #expect(fromScratch.entries == incremental.entries)
        #expect(fromScratch.number > incremental.number)
        let unspecified = try #require(incremental.entries.first { $0.serialNumber == leaves[4].certificate.serialNumber })
        #expect(unspecified.reason == nil)  // RFC 5280 §5.3.1: no reasonCode for unspecified
    }

    @Test("an entry whose certificate has expired is pruned by the incremental path while the others stay")
    func incrementalPrunes() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let counting = WalkCountingStore(h.store)
        let clock = FixedClock(h.pki.clock.now())
        let publisher = try makePublisher(h, store: counting, clock: clock)
        let early = try await h.issue("early")
        h.pki.clock.advance(by: 10 * 86_400)
        let late = try await h.issue("late")
        #expect(late.certificate.notValidAfter > early.certificate.notValidAfter.addingTimeInterval(86_400))
        try await h.revokeInStore(early)
        try await publisher.publishNow()
        let walks = counting.walkPages
        try await h.revokeInStore(late)
        await publisher.revocationOccurred()
        await publisher.waitUntilIdle()
        #expect(
            try await Self.served(publisher, h).entries.map(\.serialNumber).sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
                == [early, late].map(\.certificate.serialNumber).sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) })

        clock.set(early.certificate.notValidAfter.addingTimeInterval(3600))
        await publisher.revocationOccurred()
        await publisher.waitUntilIdle()
        #expect(try await Self.served(publisher, h).entries.map(\.serialNumber) == [late.certificate.serialNumber])
        #expect(counting.walkPages == walks)
        #expect(h.metrics.registry.value("rootkeeper_crl_entries", labels: ["issuer": h.issuerSKI]) == 1)
    }

    @Test("a restart after a revocation the old process never published rebuilds the CRL with it")
    func restartRebuilds() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let first = try h.publisher()
        let listed = try await h.issue("listed")
        let missed = try await h.issue("missed")
        try await h.revokeInStore(listed)
        try await first.publishNow()
        await first.revocationOccurred()
        await first.waitUntilIdle()
        let before = try await Self.served(first, h)
        // The "crash": committed in the store, the process dies before its CRL is written.
        try await h.revokeInStore(missed)

        let restarted = try h.publisher()
        #expect(try await Self.served(restarted, h).entries == before.entries)  // the old file is served at once
        try await restarted.publishNow()
        let after = try await Self.served(restarted, h)
        #expect(after.number > before.number)
        #expect(Set(after.entries.map(\.serialNumber)) == Set([listed, missed].map(\.certificate.serialNumber)))
        // And the restarted publisher continues incrementally from its rebuild.
        let next = try await h.issue("next")
        try await h.revokeInStore(next)
        await restarted.revocationOccurred()
        await restarted.waitUntilIdle()
        #expect(try await Self.served(restarted, h).entries.count == 3)
    }
}

/// The SQLite store, counting the pages of full walks (`revocations(issuerSKI:afterSerial:limit:)`).
final class WalkCountingStore: RevocationStore, CRLStateStore, Registration.CertificateStore, @unchecked Sendable {
    let base: SQLiteStore
    private let lock = NSLock()
    private var pages = 0
    init(_ base: SQLiteStore) { self.base = base }
    var walkPages: Int { lock.withLock { pages } }

    func revoke(_ record: RevocationRecord) async throws -> RevocationResult { try await base.revoke(record) }
    func revocationStatus(serial: String) async throws -> Registration.RevocationStatus { try await base.revocationStatus(serial: serial) }
    func revocations(issuerSKI: String, afterSerial: String?, limit: Int) async throws -> [RevocationRecord] {
        lock.withLock { pages += 1 }
        return try await base.revocations(issuerSKI: issuerSKI, afterSerial: afterSerial, limit: limit)
    }
    func revocationCount(issuerSKI: String) async throws -> Int { try await base.revocationCount(issuerSKI: issuerSKI) }
    func revocationSequence(issuerSKI: String) async throws -> Int64? { try await base.revocationSequence(issuerSKI: issuerSKI) }
    func revocations(issuerSKI: String, afterSequence: Int64, limit: Int) async throws -> [SequencedRevocation] {
        try await base.revocations(issuerSKI: issuerSKI, afterSequence: afterSequence, limit: limit)
    }
    func allocateCRLNumber(issuerSKI: String) async throws -> CRLNumberAllocation { try await base.allocateCRLNumber(issuerSKI: issuerSKI) }
    func recordPublication(_ publication: CRLPublication) async throws { try await base.recordPublication(publication) }
    func lastPublication(issuerSKI: String) async throws -> CRLPublication? { try await base.lastPublication(issuerSKI: issuerSKI) }
    func reserveIssuance(_ record: CertificateRecord) async throws { try await base.reserveIssuance(record) }
    func recordIssued(serial: String, certificateDER: [UInt8], at: Date) async throws {
        try await base.recordIssued(serial: serial, certificateDER: certificateDER, at: at)
    }
    func certificate(serial: String) async throws -> CertificateRecord? { try await base.certificate(serial: serial) }
    func certificates(agent: AgentID) async throws -> [CertificateRecord] { try await base.certificates(agent: agent) }
    func certificates(type: CertificateRecord.CertificateType?) async throws -> [CertificateRecord] { try await base.certificates(type: type) }
    func lineage(serial: String) async throws -> [CertificateRecord] { try await base.lineage(serial: serial) }
    func expiring(withinDays days: Int, now: Date) async throws -> [CertificateRecord] { try await base.expiring(withinDays: days, now: now) }
    func reservations(olderThan: Date) async throws -> [CertificateRecord] { try await base.reservations(olderThan: olderThan) }
    func superseded(before cutoff: Date) async throws -> [CertificateRecord] { try await base.superseded(before: cutoff) }
    func counts() async throws -> [CertificateCount] { try await base.counts() }
    func activeCounts(at now: Date) async throws -> [CertificateRecord.CertificateType: Int] { try await base.activeCounts(at: now) }
}
