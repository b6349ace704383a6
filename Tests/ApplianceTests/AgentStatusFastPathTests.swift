import Authority
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import PKICore
import TestSupport
import Testing
import X509

@testable import ApplianceKit

/// The agent-status fast path's decision (``AgentStatusFastPath``) and its handler
/// (``AgentStatusFastPathHandler``) in-process, over the real CA, store and caches wired as
/// `ApplianceRuntime` wires them: with the genuine agent warm, every hostile variant, every
/// authority event and every aged cache sends the request to the slow route (`nil`).
/// The real `serve` is exercised by ``AgentStatusFastPathServeTests``.
@Suite("Agent-status fast path: decision and handler")
struct AgentStatusFastPathTests {
    struct Wired {
        let harness: CAHarness
        let ca: IntermediateCA
        let status: ClientStatusCache
        let documents: AgentStatusDocumentCache
        let connections: ConnectionRegistry
        let fastPath: AgentStatusFastPath
        let authenticator: StandardClientAuthenticator

        static func make(statusAge: Duration = .seconds(3600), documentAge: Duration = .seconds(3600)) async throws -> Wired {
            let harness = try await CAHarness.make()
            let store = StoreClientStatus(store: harness.store)
            let status = ClientStatusCache(revocation: store, registry: store, maximumAge: statusAge)
            let connections = ConnectionRegistry()
            let documents = AgentStatusDocumentCache(maximumAge: documentAge)
            let coordinator = RevocationCoordinator(ocsp: nil, crlPublisher: nil, caches: [status], connections: connections)
            let ca = try harness.ca(announcingTo: [coordinator, documents])
            let clock = harness.pki.clock
            let trust = ClientTrust(root: harness.pki.root, intermediates: [harness.pki.intermediate], clock: clock)
            let fastPath = AgentStatusFastPath(
                trust: trust, status: status, documents: documents, connections: connections, clock: clock, metrics: ApplianceMetrics())
            let authenticator = StandardClientAuthenticator(trust: trust, revocation: status, registry: status, clock: clock)
            return Wired(
                harness: harness, ca: ca, status: status, documents: documents, connections: connections, fastPath: fastPath,
                authenticator: authenticator)
        }

        /// What the slow route does for `certificate`: authenticate (filling the chain and status
        /// caches), then read and remember the document. Returns the body, or nil when refused.
        @discardableResult
        func slow(_ certificate: Certificate) async throws -> [UInt8]? {
            guard case .authenticated(let agent) = try await authenticator.authenticate(certificate) else { return nil }
            return try await fastPath.encodedStatus(of: certificate) { try await ca.agentStatus(client: agent) }
        }

        /// The fast path's answer for `certificate`: nil for a miss or a certificate it never serves.
        func fast(_ certificate: Certificate) -> [UInt8]? {
            guard let facts = AgentStatusFastPath.Facts(certificate) else { return nil }
            return fastPath.answer(facts)?.body
        }
    }

    @Test("a warm genuine agent is answered from memory with the slow route's exact body; a cold one is not")
    func genuineWarm() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (certificate, _) = try await wired.harness.enrollWithToken(hostname: "quick-1")
        #expect(wired.fast(certificate) == nil, "cold caches: the slow route answers")
        let body = try #require(try await wired.slow(certificate))
        #expect(wired.fast(certificate) == body)
        let json = String(decoding: body, as: UTF8.self)
        #expect(json.contains("\"state\":\"issued\"") && json.contains("\"hostname\":\"quick-1\""), "\(json)")
    }

    @Test("with the genuine agent warm, every hostile variant misses the fast path (the slow route refuses it)")
    func hostileVariantsMiss() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (genuine, _) = try await wired.harness.enrollWithToken(hostname: "quick-2")
        try await wired.slow(genuine)
        #expect(wired.fast(genuine) != nil)
        let forger = HandshakeFastPathTests.Forger(harness: wired.harness)
        let otherKey = try KeyAlgorithm.p256.generatePrivateKey().publicKey
        let cases: [(String, Certificate)] = [
            ("same subject, other key (valid chain, unknown to the store)", try forger.forge(genuine, key: otherKey)),
            ("same serial, other key", try forger.forge(genuine, key: otherKey, serial: genuine.serialNumber)),
            ("same serial and key, re-signed", try forger.forge(genuine, key: genuine.publicKey, serial: genuine.serialNumber)),
            ("altered signature", try ForgedCertificate.withAlteredSignature(genuine)),
            (
                "serverAuth only (wrong EKU)",
                try forger.forge(genuine, key: otherKey) {
                    _ = $0.update(try Certificate.Extension(try ExtendedKeyUsage([.serverAuth]), critical: false))
                }
            ),
            ("the intermediate CA certificate as client", wired.harness.pki.intermediate),
        ]
        for (name, certificate) in cases {
            #expect(wired.fast(certificate) == nil, "\(name) must not be answered from memory")
            // Even after the slow route saw it (and refused it), nothing was remembered for it.
            #expect(try await wired.slow(certificate) == nil, "\(name) must be refused by the slow route")
            #expect(wired.fast(certificate) == nil, "\(name): a refusal must not be remembered")
        }
        #expect(wired.fast(genuine) != nil, "the genuine agent stays on the fast path")
    }

    @Test("the warm genuine certificate misses once expired or not yet valid at the injected clock's time")
    func validityAtTheClock() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (genuine, _) = try await wired.harness.enrollWithToken(hostname: "quick-3")
        try await wired.slow(genuine)
        let clock = wired.harness.pki.clock
        let now = clock.now()
        clock.set(genuine.notValidAfter.addingTimeInterval(1))
        #expect(wired.fast(genuine) == nil, "expired")
        clock.set(genuine.notValidBefore.addingTimeInterval(-1))
        #expect(wired.fast(genuine) == nil, "not yet valid")
        clock.set(now)
        #expect(wired.fast(genuine) != nil)
    }

    @Test("a revocation, a renewal and an issuance each empty the fast path before the RA call returns")
    func authorityEventsInvalidate() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (genuine, _) = try await wired.harness.enrollWithToken(hostname: "quick-4")
        // Inside the renewal window, so the renewal below is due.
        wired.harness.pki.clock.set(genuine.notValidAfter.addingTimeInterval(60 - wired.ca.authority.policy.renewBefore))
        try await wired.slow(genuine)
        #expect(wired.fast(genuine) != nil)

        // Issuance of another agent: an authority event, so the document is read again.
        _ = try await wired.ca.enroll(
            csrDER: try CAHarness.agentCSR(hostname: "quick-4b").der,
            token: try await wired.ca.createToken(hostname: "quick-4b", caller: CAHarness.admin), source: "127.0.0.1")
        #expect(wired.fast(genuine) == nil, "an issuance forgets the documents")
        try await wired.slow(genuine)

        // Renewal: the presented certificate becomes superseded; the next answer says so.
        let renewal = try CAHarness.agentCSR(hostname: "quick-4", uuid: try #require(AgentSubject(certificate: genuine)).uuid)
        let outcome = try await wired.ca.reenroll(csrDER: renewal.der, client: try wired.harness.authenticated(genuine))
        guard case .issued = outcome else { throw TestFailure("renewal: \(outcome)") }
        #expect(wired.fast(genuine) == nil, "a renewal forgets the documents")
        let superseded = String(decoding: try #require(try await wired.slow(genuine)), as: UTF8.self)
        #expect(superseded.contains("\"state\":\"superseded\""), "\(superseded)")
        #expect(wired.fast(genuine).map { String(decoding: $0, as: UTF8.self) } == superseded)

        // Revocation: refused by the slow route, never answered from memory again.
        _ = try await wired.ca.revokeCertificate(serial: IntermediateCA.serialHex(genuine), reason: "keyCompromise", caller: CAHarness.admin)
        #expect(wired.fast(genuine) == nil, "revoked: the very next request goes to the slow route")
        #expect(try await wired.slow(genuine) == nil, "revoked: refused")
        #expect(wired.fast(genuine) == nil)
    }

    @Test("a revocation committed by another node (seen only through ClientStatusCache, as the shared-store follower tells it) misses at once")
    func otherNodesRevocationMisses() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (genuine, _) = try await wired.harness.enrollWithToken(hostname: "quick-9")
        try await wired.slow(genuine)
        #expect(wired.fast(genuine) != nil)
        // The harness's own CA announces to no cache of this wiring: like another node's RA.
        _ = try await wired.harness.ca.revokeCertificate(
            serial: IntermediateCA.serialHex(genuine), reason: "keyCompromise", caller: CAHarness.admin)
        #expect(wired.documents.count == 1, "the document cache did not hear of it")
        // What SharedStoreRevocationFollower makes the coordinator do: the status caches are dropped.
        wired.status.invalidateAll()
        #expect(wired.fast(genuine) == nil, "no remembered good: the slow route answers")
        #expect(try await wired.slow(genuine) == nil, "and refuses")
    }

    @Test("an answer read before an authority event is not remembered after it (ticket)")
    func racedReadNotRemembered() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (genuine, _) = try await wired.harness.enrollWithToken(hostname: "quick-5")
        guard case .authenticated(let agent) = try await wired.authenticator.authenticate(genuine) else { throw TestFailure("refused") }
        _ = try await wired.fastPath.encodedStatus(of: genuine) {
            let status = try await wired.ca.agentStatus(client: agent)
            wired.documents.invalidateAll()  // an event lands while the store read is under way
            return status
        }
        #expect(wired.documents.count == 0)
        #expect(wired.fast(genuine) == nil)
    }

    @Test("the 1 s cap: an aged status, agent or document entry misses even without any event", .timeLimit(.minutes(1)))
    func agedEntriesMiss() async throws {
        for (statusAge, documentAge) in [(Duration.milliseconds(200), Duration.seconds(3600)), (.seconds(3600), .milliseconds(200))] {
            let wired = try await Wired.make(statusAge: statusAge, documentAge: documentAge)
            defer { wired.harness.remove() }
            let (genuine, _) = try await wired.harness.enrollWithToken(hostname: "quick-6")
            try await wired.slow(genuine)
            #expect(wired.fast(genuine) != nil)
            try await Task.sleep(for: .milliseconds(300))
            #expect(wired.fast(genuine) == nil, "status age \(statusAge), document age \(documentAge)")
        }
        // The runtime's defaults are the bound.
        #expect(AgentStatusDocumentCache().maximumAge == .seconds(1))
    }

    @Test("renewNow is never served across renewFrom: the document misses once the clock crosses it")
    func renewFromCrossingMisses() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (genuine, _) = try await wired.harness.enrollWithToken(hostname: "quick-7")
        let before = String(decoding: try #require(try await wired.slow(genuine)), as: UTF8.self)
        #expect(before.contains("\"renewNow\":false"), "\(before)")
        let renewFrom = genuine.notValidAfter.addingTimeInterval(-wired.ca.authority.policy.renewBefore)
        wired.harness.pki.clock.set(renewFrom.addingTimeInterval(1))
        #expect(wired.fast(genuine) == nil, "renewNow may have changed")
        let after = String(decoding: try #require(try await wired.slow(genuine)), as: UTF8.self)
        #expect(after.contains("\"renewNow\":true"), "\(after)")
        #expect(wired.fast(genuine).map { String(decoding: $0, as: UTF8.self) } == after)
    }

    // MARK: The handler

    /// An embedded pipeline: the fast-path handler in front of a recorder standing in for the router.
    final class Router: ChannelInboundHandler {
        typealias InboundIn = HTTPRequestPart
        var heads: [HTTPRequest] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let head) = unwrapInboundIn(data) { heads.append(head) }
        }
    }

    static func request(_ path: String) -> [HTTPRequestPart] {
        [.head(HTTPRequest(method: .get, scheme: nil, authority: "localhost", path: path)), .end(nil)]
    }

    @Test("the handler answers a warm poll itself, routes everything else, and keeps pipelined answers in order")
    func handlerOrdering() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (genuine, _) = try await wired.harness.enrollWithToken(hostname: "quick-8")
        let body = try #require(try await wired.slow(genuine))
        let router = Router()
        let channel = EmbeddedChannel(handlers: [AgentStatusFastPathHandler(fastPath: wired.fastPath), router])
        defer { _ = try? channel.finish() }
        wired.connections.register(serial: HandshakeVerifier.serial(of: genuine), channel: channel, certificate: genuine)

        func written() throws -> [HTTPResponsePart] {
            var parts: [HTTPResponsePart] = []
            while let part = try channel.readOutbound(as: HTTPResponsePart.self) { parts.append(part) }
            return parts
        }
        // A warm poll: answered by the handler, the router sees nothing.
        for part in Self.request(AgentStatusFastPathHandler.path) { try channel.writeInbound(part) }
        let answer = try written()
        #expect(router.heads.isEmpty)
        guard answer.count == 3, case .head(let head) = answer[0], case .body(let buffer) = answer[1], case .end = answer[2] else {
            throw TestFailure("unexpected answer \(answer)")
        }
        #expect(head.status == .ok)
        #expect(head.headerFields.map(\.name.canonicalName) == ["content-type", "content-length", "date", "server"])
        #expect(head.headerFields[.contentType] == "application/json" && head.headerFields[.contentLength] == "\(body.count)")
        #expect(Array(buffer.readableBytesView) == body)

        // Pipelined: another route, then a poll. The poll waits for the router's answer (routed too).
        for part in Self.request("/.well-known/est/cacerts") + Self.request(AgentStatusFastPathHandler.path) {
            try channel.writeInbound(part)
        }
        #expect(router.heads.map(\.path) == ["/.well-known/est/cacerts", AgentStatusFastPathHandler.path])
        #expect(try written().isEmpty, "nothing answered ahead of the routed request")
        // The router answers both; then a poll is the handler's again.
        for _ in 0..<2 {
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
        }
        _ = try written()
        for part in Self.request(AgentStatusFastPathHandler.path) { try channel.writeInbound(part) }
        #expect(try written().count == 3)
        #expect(router.heads.count == 2)

        // A query string, another method, or a cold cache: routed.
        wired.status.invalidateAll()
        for part in Self.request(AgentStatusFastPathHandler.path) { try channel.writeInbound(part) }
        #expect(router.heads.count == 3, "a miss goes to the router")
        #expect(wired.fastPath.metrics.registry.value(AgentStatusFastPath.answersMetric) == 2)
    }

    @Test("the Date header is an IMF-fixdate (RFC 9110 §5.6.7), as the router's")
    func imfFixdate() {
        #expect(HTTPDateHeader.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDateHeader.format(1_796_562_345) == "Sun, 06 Dec 2026 13:05:45 GMT")
    }

    @Test("a warm poll marked Connection: close is answered, then the connection is closed and nothing after it is read")
    func handlerClosesAfterClose() async throws {
        let wired = try await Wired.make()
        defer { wired.harness.remove() }
        let (genuine, _) = try await wired.harness.enrollWithToken(hostname: "quick-10")
        try await wired.slow(genuine)
        let router = Router()
        let channel = EmbeddedChannel(handlers: [AgentStatusFastPathHandler(fastPath: wired.fastPath), router])
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        wired.connections.register(serial: HandshakeVerifier.serial(of: genuine), channel: channel, certificate: genuine)
        var head = HTTPRequest(method: .get, scheme: nil, authority: "localhost", path: AgentStatusFastPathHandler.path)
        head.headerFields[.connection] = "close"
        for part: HTTPRequestPart in [.head(head), .end(nil)] + Self.request(AgentStatusFastPathHandler.path) {
            try? channel.writeInbound(part)
        }
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: HTTPResponsePart.self) != nil, "answered")
        #expect(!channel.isActive, "closed after the answer")
        #expect(router.heads.isEmpty, "the request after it was not passed on")
        #expect(wired.fastPath.metrics.registry.value(AgentStatusFastPath.answersMetric) == 1)
    }
}
