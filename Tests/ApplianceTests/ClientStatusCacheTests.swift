import ApplianceKit
import Foundation
import NIOConcurrencyHelpers
import PKICore
import TestSupport
import Testing
import X509

/// The in-memory view of "good certificate / active agent" used on every mTLS request.
@Suite("mTLS client status cache")
struct ClientStatusCacheTests {
    /// The harness's CA wired like `ApplianceRuntime`: revocations reach a coordinator that
    /// invalidates the cache before the admin command returns.
    struct Wired {
        let harness: CAHarness
        let ca: IntermediateCA
        let cache: ClientStatusCache
        let authenticator: StandardClientAuthenticator

        static func make(maximumAge: Duration = .seconds(3600)) async throws -> Wired {
            let harness = try await CAHarness.make()
            // A long maximum age, so only the coordinator's invalidation can make these tests pass.
            let status = StoreClientStatus(store: harness.store)
            let cache = ClientStatusCache(revocation: status, registry: status, maximumAge: maximumAge)
            let coordinator = RevocationCoordinator(ocsp: nil, crlPublisher: nil, caches: [cache])
            let ca = try harness.ca(announcingTo: [coordinator])
            let authenticator = StandardClientAuthenticator(
                trust: ClientTrust(root: harness.pki.root, intermediates: [harness.pki.intermediate], clock: harness.pki.clock),
                revocation: cache, registry: cache, clock: harness.pki.clock)
            return Wired(harness: harness, ca: ca, cache: cache, authenticator: authenticator)
        }

        func metricReason(_ certificate: Certificate) async throws -> String {
            switch try await authenticator.authenticate(certificate) {
            case .authenticated: return "authenticated"
            case .unauthenticated(_, let reason), .forbidden(_, let reason): return reason
            }
        }
    }

    @Test("a certificate revoked by an administrator is refused on the very next request although it was cached as good")
    func revokedCertificateRefusedNextRequest() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (certificate, _) = try await wired.harness.enrollWithToken(hostname: "web-1")
        #expect(try await wired.metricReason(certificate) == "authenticated")
        #expect(try await wired.metricReason(certificate) == "authenticated")
        #expect(wired.cache.counts.certificates == 1)
        #expect(wired.cache.counts.agents == 1)

        _ = try await wired.ca.revokeCertificate(
            serial: IntermediateCA.serialHex(certificate), reason: "keyCompromise", caller: CAHarness.admin)
        #expect(try await wired.metricReason(certificate) == "revoked")
        #expect(wired.cache.counts.certificates == 0)
    }

    @Test("a revoked agent is refused on the next request, and its certificate is not answered good from memory")
    func revokedAgentRefusedNextRequest() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (certificate, uuid) = try await wired.harness.enrollWithToken(hostname: "db-1")
        #expect(try await wired.metricReason(certificate) == "authenticated")

        _ = try await wired.ca.revokeAgent(id: uuid, reason: "", caller: CAHarness.admin)
        #expect(try await wired.metricReason(certificate) == "revoked")
        #expect(try await wired.cache.registeredAgent(id: uuid) == nil)
        #expect(try await wired.cache.revocationStatus(of: certificate) != .good)
    }

    @Test("after a renewal the cache answers like the store for the old and the new certificate, and revoking the old one takes effect at once")
    func renewal() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (first, uuid) = try await wired.harness.enrollWithToken(hostname: "app-1")
        #expect(try await wired.metricReason(first) == "authenticated")
        wired.harness.pki.clock.set(first.notValidAfter.addingTimeInterval(-10 * 86_400))
        let csr = try CAHarness.agentCSR(hostname: "app-1", uuid: uuid)
        guard case .issued(let second, _) = try await wired.ca.reenroll(csrDER: csr.der, client: try wired.harness.authenticated(first)) else {
            Issue.record("renewal inside the window must be issued")
            return
        }
        // Superseded is still good until revoked (store semantics), the new one is good too.
        for certificate in [first, second] {
            #expect(try await wired.cache.revocationStatus(of: certificate) == wired.ca.revocationStatus(of: certificate))
            #expect(try await wired.metricReason(certificate) == "authenticated")
        }
        _ = try await wired.ca.revokeCertificate(serial: IntermediateCA.serialHex(first), reason: "superseded", caller: CAHarness.admin)
        #expect(try await wired.metricReason(first) == "revoked")
        #expect(try await wired.metricReason(second) == "authenticated")
    }

    @Test("unknown and revoked answers are never remembered: each check asks the store again")
    func negativesNotCached() async throws {
        let backing = CountingBacking(status: .revoked(reason: "keyCompromise"), agent: nil)
        let cache = ClientStatusCache(revocation: backing, registry: backing, maximumAge: .seconds(3600))
        let pki = try await TestPKI.make()
        let leaf = try await pki.issueAgent(hostname: "x-1")
        for _ in 0..<3 {
            #expect(try await cache.revocationStatus(of: leaf.certificate) == .revoked(reason: "keyCompromise"))
            #expect(try await cache.registeredAgent(id: "a") == nil)
        }
        #expect(backing.calls == 6)
        backing.set(status: .unknown)
        #expect(try await cache.revocationStatus(of: leaf.certificate) == .unknown)
        #expect(backing.calls == 7)
    }

    @Test("a store error is thrown (fail closed) and leaves nothing remembered")
    func errorsFailClosed() async throws {
        let backing = CountingBacking(status: .good, agent: RegisteredAgent(id: "a", hostname: "h"))
        backing.failing = true
        let cache = ClientStatusCache(revocation: backing, registry: backing, maximumAge: .seconds(3600))
        let pki = try await TestPKI.make()
        let leaf = try await pki.issueAgent(hostname: "x-2")
        await #expect(throws: (any Error).self) { _ = try await cache.revocationStatus(of: leaf.certificate) }
        await #expect(throws: (any Error).self) { _ = try await cache.registeredAgent(id: "a") }
        #expect(cache.counts.certificates == 0 && cache.counts.agents == 0)
    }

    @Test("an answer read from the store while a revocation invalidated the cache is not remembered")
    func racingReadNotRemembered() async throws {
        let backing = CountingBacking(status: .good, agent: RegisteredAgent(id: "a", hostname: "h"))
        let cache = ClientStatusCache(revocation: backing, registry: backing, maximumAge: .seconds(3600))
        // The revocation lands while the store read is in flight.
        backing.duringRead = { cache.invalidateAll() }
        let pki = try await TestPKI.make()
        let leaf = try await pki.issueAgent(hostname: "x-3")
        #expect(try await cache.revocationStatus(of: leaf.certificate) == .good)
        #expect(try await cache.registeredAgent(id: "a") != nil)
        #expect(cache.counts.certificates == 0 && cache.counts.agents == 0)
        backing.duringRead = nil
        _ = try await cache.revocationStatus(of: leaf.certificate)
        _ = try await cache.revocationStatus(of: leaf.certificate)
        // Two racing reads, then one undisturbed read that is remembered and one from memory.
        #expect(backing.calls == 3)
    }

    @Test("a remembered answer is used only up to the maximum age, then the store is asked again")
    func maximumAge() async throws {
        let backing = CountingBacking(status: .good, agent: nil)
        let cache = ClientStatusCache(revocation: backing, registry: backing, maximumAge: .zero)
        let pki = try await TestPKI.make()
        let leaf = try await pki.issueAgent(hostname: "x-4")
        for _ in 0..<3 { #expect(try await cache.revocationStatus(of: leaf.certificate) == .good) }
        #expect(backing.calls == 3)
    }

    @Test("a certificate with the same TBS but another signature is not answered from the remembered good one")
    func forgedSignatureIsAnotherKey() async throws {
        let backing = CountingBacking(status: .good, agent: nil)
        let cache = ClientStatusCache(revocation: backing, registry: backing, maximumAge: .seconds(3600))
        let pki = try await TestPKI.make()
        let leaf = try await pki.issueAgent(hostname: "x-5")
        let forged = try ForgedCertificate.withAlteredSignature(leaf.certificate)
        #expect(forged.tbsCertificateBytes == leaf.certificate.tbsCertificateBytes)
        #expect(forged.signature != leaf.certificate.signature)
        _ = try await cache.revocationStatus(of: leaf.certificate)
        _ = try await cache.revocationStatus(of: forged)
        #expect(backing.calls == 2)
    }
}

/// A store seam that counts reads and can fail or run code mid-read.
final class CountingBacking: RevocationChecking, AgentRegistry, @unchecked Sendable {
    private let lock = NIOLock()
    private var status: RevocationStatus
    private let agent: RegisteredAgent?
    private var count = 0
    var failing = false
    var duringRead: (@Sendable () -> Void)?

    init(status: RevocationStatus, agent: RegisteredAgent?) {
        self.status = status
        self.agent = agent
    }

    var calls: Int { lock.withLock { count } }
    func set(status: RevocationStatus) { lock.withLock { self.status = status } }

    func revocationStatus(of certificate: Certificate) async throws -> RevocationStatus {
        lock.withLock { count += 1 }
        if failing { throw PKIError.invalidParameter("store unavailable") }
        duringRead?()
        return lock.withLock { status }
    }

    func registeredAgent(id: String) async throws -> RegisteredAgent? {
        lock.withLock { count += 1 }
        if failing { throw PKIError.invalidParameter("store unavailable") }
        duringRead?()
        return agent
    }
}

/// Builds a certificate whose TBS is a genuine one's but whose signature differs.
enum ForgedCertificate {
    static func withAlteredSignature(_ certificate: Certificate) throws -> Certificate {
        var der = try PEMCodec.der(certificate)
        // The signature BIT STRING is the last element: flipping its final byte changes the low
        // byte of the ECDSA `s` integer and keeps every length intact.
        der[der.count - 1] ^= 0x01
        return try Certificate(derEncoded: der)
    }
}
