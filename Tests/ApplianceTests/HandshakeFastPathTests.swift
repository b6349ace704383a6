import Authority
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOSSL
import PKICore
import TestSupport
import Testing
import X509

@testable import ApplianceKit

/// The handshake's synchronous cache-hit path (``HandshakeVerifier``): a returning client whose
/// chain and store status are remembered is answered on the event loop without the full check;
/// every hostile variant — and the genuine certificate once expired, not yet valid or revoked —
/// still takes the full check and is refused, with the fast path warm for the genuine one.
@Suite("mTLS handshake cache-hit path")
struct HandshakeFastPathTests {
    /// Counts the full revocation checks, so a test can tell the fast path (none) from the full one.
    final class CountingRevocation: RevocationChecking {
        let inner: ClientStatusCache
        private let count = NIOLockedValueBox(0)
        init(_ inner: ClientStatusCache) { self.inner = inner }
        var fullChecks: Int { count.withLockedValue { $0 } }
        func revocationStatus(of certificate: Certificate) async throws -> RevocationStatus {
            count.withLockedValue { $0 += 1 }
            return try await inner.revocationStatus(of: certificate)
        }
        func isKnownGood(_ certificate: Certificate) -> Bool { inner.isKnownGood(certificate) }
    }

    struct Wired {
        let harness: CAHarness
        let ca: IntermediateCA
        let revocation: CountingRevocation
        let connections: ConnectionRegistry
        let verifier: HandshakeVerifier

        static func make() async throws -> Wired {
            let harness = try await CAHarness.make()
            let status = StoreClientStatus(store: harness.store)
            let cache = ClientStatusCache(revocation: status, registry: status, maximumAge: .seconds(3600))
            let connections = ConnectionRegistry()
            let coordinator = RevocationCoordinator(ocsp: nil, crlPublisher: nil, caches: [cache], connections: connections)
            let ca = try harness.ca(announcingTo: [coordinator])
            let revocation = CountingRevocation(cache)
            let trust = ClientTrust(root: harness.pki.root, intermediates: [harness.pki.intermediate], clock: harness.pki.clock)
            let verifier = HandshakeVerifier(
                trust: trust, revocation: revocation, connections: connections, metrics: ApplianceMetrics(),
                logger: Logger(label: "test.handshake"))
            return Wired(harness: harness, ca: ca, revocation: revocation, connections: connections, verifier: verifier)
        }

        /// Runs the verification callback as NIOSSL would for a client presenting `chain`.
        /// Returns the verdict, whether it was an acceptance without a full check (the fast path
        /// only ever accepts; a refusal always comes from the full check), and the channel.
        func handshake(_ chain: [Certificate]) async throws -> (verified: Bool, fast: Bool, channel: NIOAsyncTestingChannel) {
            let channel = NIOAsyncTestingChannel()
            let promise = channel.eventLoop.makePromise(of: NIOSSLVerificationResult.self)
            let presented = try chain.map { try NIOSSLCertificate(bytes: try PEMCodec.der($0), format: .der) }
            let before = revocation.fullChecks
            verifier.verify(presented, promise: promise, channel: channel)
            let result = try await promise.futureResult.get()
            let verified = result == .certificateVerified
            return (verified, verified && revocation.fullChecks == before, channel)
        }

        /// A certificate signed with the real intermediate key from `base`'s fields, changed as asked.
        func forge(
            _ base: Certificate, key: Certificate.PublicKey, serial: Certificate.SerialNumber = .init(),
            edit: (inout Certificate.Extensions) throws -> Void = { _ in }
        ) throws -> Certificate {
            try Forger(harness: harness).forge(base, key: key, serial: serial, edit: edit)
        }
    }

    /// Forges hostile variants of a genuine agent certificate with the harness's real
    /// intermediate key (shared with ``AgentStatusFastPathTests``).
    struct Forger {
        let harness: CAHarness

        /// A certificate signed with the real intermediate key from `base`'s fields, changed as asked.
        func forge(
            _ base: Certificate, key: Certificate.PublicKey, serial: Certificate.SerialNumber = .init(),
            edit: (inout Certificate.Extensions) throws -> Void = { _ in }
        ) throws -> Certificate {
            var extensions = base.extensions
            try edit(&extensions)
            return try Certificate(
                version: .v3, serialNumber: serial, publicKey: key, notValidBefore: base.notValidBefore, notValidAfter: base.notValidAfter,
                issuer: base.issuer, subject: base.subject, signatureAlgorithm: base.signatureAlgorithm, extensions: extensions,
                issuerPrivateKey: harness.pki.intermediateKey)
        }
    }

    @Test("a returning genuine client is answered from the caches; its parsed certificate is kept for the connection's requests")
    func genuineUsesFastPath() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (certificate, _) = try await wired.harness.enrollWithToken(hostname: "fast-1")
        let first = try await wired.handshake([certificate])
        #expect(first.verified && !first.fast, "the first handshake takes the full check")
        #expect(wired.verifier.leaves.count == 1, "the parsed certificate is remembered once it passed")
        let second = try await wired.handshake([certificate])
        #expect(second.verified && second.fast, "a returning client is answered from the caches")
        #expect(wired.connections.peerCertificate(of: second.channel) == certificate)
        #expect(wired.connections.openConnections(serial: IntermediateCA.serialHex(certificate)) == 2)
    }

    @Test("with the genuine client warm in the caches, every hostile variant still takes the full check and is refused")
    func hostileVariantsRefused() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (genuine, _) = try await wired.harness.enrollWithToken(hostname: "fast-2")
        _ = try await wired.handshake([genuine])
        #expect(try await wired.handshake([genuine]).fast)

        let otherKey = try KeyAlgorithm.p256.generatePrivateKey().publicKey
        let cases: [(String, [Certificate])] = [
            ("same subject, other key (valid chain, unknown to the store)", [try wired.forge(genuine, key: otherKey)]),
            ("same serial, other key", [try wired.forge(genuine, key: otherKey, serial: genuine.serialNumber)]),
            ("same serial and key, re-signed", [try wired.forge(genuine, key: genuine.publicKey, serial: genuine.serialNumber)]),
            ("altered signature", [try ForgedCertificate.withAlteredSignature(genuine)]),
            (
                "serverAuth only (wrong EKU)",
                [
                    try wired.forge(genuine, key: otherKey) {
                        _ = $0.update(try Certificate.Extension(try ExtendedKeyUsage([.serverAuth]), critical: false))
                    }
                ]
            ),
            ("the intermediate CA certificate as client", [wired.harness.pki.intermediate]),
        ]
        for (name, chain) in cases {
            let result = try await wired.handshake(chain)
            #expect(!result.verified, "\(name) must be refused")
            // Refused answers are never remembered: the next attempt is refused again.
            #expect(try await !wired.handshake(chain).verified, "\(name): a refusal must not be remembered")
        }
        #expect(try await wired.handshake([genuine]).fast, "the genuine client stays on the fast path")
        #expect(wired.verifier.leaves.count == 1, "only the genuine certificate is remembered parsed, no refused one")
    }

    @Test("the genuine certificate, warm in the caches, is refused once expired or not yet valid at the clock's time")
    func validityRecheckedOnFastPath() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (genuine, _) = try await wired.harness.enrollWithToken(hostname: "fast-3")
        _ = try await wired.handshake([genuine])
        #expect(try await wired.handshake([genuine]).fast)
        let clock = wired.harness.pki.clock
        let now = clock.now()

        clock.set(genuine.notValidAfter.addingTimeInterval(1))
        let expired = try await wired.handshake([genuine])
        #expect(!expired.verified, "expired: refused by the full check")

        clock.set(genuine.notValidBefore.addingTimeInterval(-1))
        let early = try await wired.handshake([genuine])
        #expect(!early.verified, "not yet valid: refused by the full check")

        clock.set(now)
        #expect(try await wired.handshake([genuine]).verified)
    }

    @Test("the genuine certificate, warm in the caches, is refused on the next handshake after its revocation", .timeLimit(.minutes(1)))
    func revokedOnFastPath() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (genuine, _) = try await wired.harness.enrollWithToken(hostname: "fast-4")
        _ = try await wired.handshake([genuine])
        let open = try await wired.handshake([genuine])
        #expect(open.fast)
        _ = try await wired.ca.revokeCertificate(serial: IntermediateCA.serialHex(genuine), reason: "keyCompromise", caller: CAHarness.admin)
        let after = try await wired.handshake([genuine])
        #expect(!after.verified, "revoked: refused by the full check")
        // The open connection was closed by the revocation.
        #expect(wired.connections.openConnections(serial: IntermediateCA.serialHex(genuine)) == 0)
        try await open.channel.closeFuture.get()
    }
}
