import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing
import X509

/// ``ClientTrust`` remembers validated chains; these tests show what it still checks each time.
@Suite("mTLS verified-chain cache")
struct ClientTrustCacheTests {
    @Test("a remembered chain is refused once the leaf has expired at the request's time")
    func expiryRechecked() async throws {
        let pki = try await TestPKI.make()
        let leaf = try await pki.issueAgent(hostname: "web-1").certificate
        let trust = ClientTrust(root: pki.root, intermediates: [pki.intermediate], clock: pki.clock)
        #expect(await trust.verify(leaf: leaf) == nil)
        #expect(await trust.verify(leaf: leaf) == nil)
        #expect(trust.cachedChainCount == 1)

        pki.clock.set(leaf.notValidAfter.addingTimeInterval(1))
        let failure = await trust.verify(leaf: leaf)
        #expect(failure?.contains("validity") == true, "\(failure ?? "accepted")")
        pki.clock.set(leaf.notValidBefore.addingTimeInterval(-1))
        #expect(await trust.verify(leaf: leaf) != nil)
    }

    @Test("a remembered chain is refused once its intermediate is no longer current, and the cache is emptied")
    func intermediateRemoved() async throws {
        let pki = try await TestPKI.make()
        let other = try await TestPKI.make()
        let leaf = try await pki.issueAgent(hostname: "web-2").certificate
        let trust = ClientTrust(root: pki.root, intermediates: [pki.intermediate], clock: pki.clock)
        #expect(await trust.verify(leaf: leaf) == nil)
        trust.setIntermediates([other.intermediate])
        #expect(trust.cachedChainCount == 0)
        #expect(await trust.verify(leaf: leaf) != nil)
    }

    @Test("a certificate with a genuine TBS but an altered signature fails even after the genuine one was remembered")
    func forgedSignatureNotAccepted() async throws {
        let pki = try await TestPKI.make()
        let leaf = try await pki.issueAgent(hostname: "web-3").certificate
        let trust = ClientTrust(root: pki.root, intermediates: [pki.intermediate], clock: pki.clock)
        #expect(await trust.verify(leaf: leaf) == nil)
        let forged = try ForgedCertificate.withAlteredSignature(leaf)
        #expect(await trust.verify(leaf: forged) != nil)
        #expect(await trust.verify(leaf: leaf) == nil)
    }

    @Test("a certificate from another CA is refused and not remembered")
    func untrustedNotCached() async throws {
        let pki = try await TestPKI.make()
        let stranger = try await TestPKI.make()
        let leaf = try await stranger.issueAgent(hostname: "web-4").certificate
        let trust = ClientTrust(root: pki.root, intermediates: [pki.intermediate], clock: pki.clock)
        #expect(await trust.verify(leaf: leaf) != nil)
        #expect(await trust.verify(leaf: leaf) != nil)
        #expect(trust.cachedChainCount == 0)
    }

    @Test("the cache is bounded: beyond its capacity it starts over and still verifies")
    func bounded() async throws {
        let pki = try await TestPKI.make()
        let trust = ClientTrust(root: pki.root, intermediates: [pki.intermediate], clock: pki.clock, cacheCapacity: 2)
        for index in 0..<5 {
            let leaf = try await pki.issueAgent(hostname: "host-\(index)").certificate
            #expect(await trust.verify(leaf: leaf) == nil)
            #expect(trust.cachedChainCount <= 2)
        }
    }
}
