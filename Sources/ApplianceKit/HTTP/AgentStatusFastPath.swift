import Authority
import Foundation
import PKICore
import X509

/// The in-memory answer to `GET /api/v1/agent/status` for a kept-alive agent
/// (docs/performance.md#agent-status-fast-path), decided synchronously on the event loop by
/// ``AgentStatusFastPathHandler``.
///
/// It proves exactly what the slow route (``StandardClientAuthenticator`` then the store read)
/// proves, from memory only, on every request — a miss or any doubt answers `nil`, and the request
/// goes to the slow route unchanged (which refuses, logs and counts as it always did, and refills
/// the caches):
/// - the connection's client certificate, as parsed at its handshake (``ConnectionRegistry``);
/// - its static facts, computed once per connection: clientAuth extended key usage and the agent
///   subject format (they cannot change for the same bytes);
/// - at the injected clock's time, on every request: the leaf's validity window, and the chain
///   ``ClientTrust`` verified before re-checked for every element's validity and for each issuer
///   still being a current intermediate (``ClientTrust/cachedVerdict(leaf:)``);
/// - the store's "good" remembered less than a second ago with no revocation since
///   (``ClientStatusCache/isKnownGood(_:)``), and the registered agent likewise
///   (``ClientStatusCache/rememberedAgent(id:)``) with the certificate's hostname;
/// - the status document remembered for this very certificate (``AgentStatusDocumentCache``).
public final class AgentStatusFastPath: Sendable {
    /// What a connection's certificate proves once and for all (same bytes, same answer).
    struct Facts: Sendable {
        let certificate: Certificate
        let key: CertificateIdentity
        let identity: AgentSubject

        /// `nil` when the certificate lacks clientAuth or names no agent: such a connection is
        /// always answered (refused) by the slow route.
        init?(_ certificate: Certificate) {
            // A malformed EKU extension is treated like a missing one, as the slow route does.
            guard let usages = (try? certificate.extensions.extendedKeyUsage) ?? nil, usages.contains(.clientAuth) else { return nil }
            guard let identity = AgentSubject(certificate: certificate) else { return nil }
            self.certificate = certificate
            self.key = CertificateIdentity(certificate)
            self.identity = identity
        }
    }

    let trust: ClientTrust
    let status: ClientStatusCache
    /// Filled by the slow route (``HTTPSRoutes``), emptied by every authority event.
    public let documents: AgentStatusDocumentCache
    let connections: ConnectionRegistry
    let clock: any PKIClock
    let metrics: ApplianceMetrics
    /// The `Server` header both routes send (the listener's `serverName`).
    let serverName: String

    public init(
        trust: ClientTrust, status: ClientStatusCache, documents: AgentStatusDocumentCache, connections: ConnectionRegistry,
        clock: any PKIClock, metrics: ApplianceMetrics, serverName: String = "rootkeeper"
    ) {
        self.trust = trust
        self.status = status
        self.documents = documents
        self.connections = connections
        self.clock = clock
        self.metrics = metrics
        self.serverName = serverName
    }

    /// The remembered document for `facts`' certificate if every check holds now, else `nil`.
    func answer(_ facts: Facts) -> AgentStatusDocumentCache.Document? {
        let now = clock.now()
        let leaf = facts.certificate
        guard leaf.notValidBefore <= now, now <= leaf.notValidAfter else { return nil }
        // The connection's key, made once: no certificate is hashed per request.
        guard case .some(.none) = trust.cachedVerdict(key: facts.key) else { return nil }
        guard status.isKnownGood(key: facts.key) else { return nil }
        guard let registered = status.rememberedAgent(id: facts.identity.uuid), registered.hostname == facts.identity.hostname else {
            return nil
        }
        return documents.document(for: facts.key, at: now)
    }

    /// The slow route's answer for `certificate` (already authenticated), encoded as it is sent,
    /// and remembered for the fast path. The ticket is taken before the store read, so an
    /// authority event between the read and its answer keeps the answer out of the cache; and
    /// `renewNow`, computed at some instant between `asked` and `answered`, is remembered only
    /// when both lie on the same side of `renewFrom` (so it is known which side it saw).
    func encodedStatus(of certificate: Certificate, _ read: () async throws -> AgentStatus) async throws -> [UInt8] {
        let ticket = documents.ticket()
        let asked = clock.now()
        let status = try await read()
        let answered = clock.now()
        let body = try Self.encode(status)
        let straddles = status.renewFrom.map { (asked >= $0) != (answered >= $0) } ?? false
        if !straddles {
            documents.remember(
                .init(body: body, renewFrom: status.renewFrom, notBefore: status.notBefore, notAfter: status.notAfter, answeredAt: answered),
                for: certificate, ticket: ticket)
        }
        return body
    }

    /// The route's JSON: sorted keys, ISO-8601 dates (docs/endpoints.md).
    static func encode(_ status: AgentStatus) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return [UInt8](try encoder.encode(status))
    }

    /// Counts an answer given on the fast path (`rootkeeper_agent_status_fast_answers_total`) and
    /// its validation time in the same histogram as the slow route's.
    func answered(validationStarted: ContinuousClock.Instant) {
        metrics.observeValidation(since: validationStarted)
        metrics.agentStatusFastAnswered()
    }

    /// The counter of fast answers, by name (for readers of `/metrics`).
    static let answersMetric = "rootkeeper_agent_status_fast_answers_total"
}
