import Foundation
import NIOConcurrencyHelpers
import Registration
import X509

/// The `GET /api/v1/agent/status` documents the slow route last answered, keyed by the presented
/// certificate's ``CertificateIdentity``, so the fast path (``AgentStatusFastPath``) can answer a
/// kept-alive agent's poll from memory (docs/performance.md#agent-status-fast-path).
///
/// Only documents of authenticated certificates are stored (the slow route stores after
/// authentication and the store read succeeded); a refusal is never remembered. A document is used:
/// - for at most ``maximumAge`` after the store answered (defence in depth, also against a change
///   committed by another node of a shared store, which this node's event stream does not carry);
/// - only while no authority event happened since it was read: every event of the RA's stream
///   (issuance, renewal — which supersedes the predecessor —, revocation, registration decision)
///   empties the cache synchronously before the RA call returns (``authorityEventOccurred(_:)``),
///   and a read that raced an event is not stored (generation check);
/// - only while the clock is on the same side of `renewFrom` as when it was read: `renewNow`
///   is the one time-dependent field (the validity window is re-checked by the fast path on every
///   request), so a document whose `renewNow` could have changed is not reused.
public final class AgentStatusDocumentCache: AuthorityEventSubscriber, Sendable {
    /// A remembered answer: the exact JSON body the slow route sent, and what decides its reuse.
    public struct Document: Sendable, Equatable {
        /// The encoded body (sorted keys, ISO-8601 dates), byte for byte what the slow route sent.
        public let body: [UInt8]
        /// The document's `renewFrom` (nil: none), the instant at which `renewNow` may flip.
        public let renewFrom: Date?
        /// The certificate's validity window, as the document states it.
        public let notBefore: Date
        public let notAfter: Date
        /// The injected clock's time when the store answered.
        public let answeredAt: Date
    }
    private struct Entry: Sendable {
        let document: Document
        let storedAt: ContinuousClock.Instant
    }
    private struct State: Sendable {
        var generation: UInt64 = 0
        var entries: [CertificateIdentity: Entry] = [:]
    }
    private let state = NIOLockedValueBox(State())
    /// How long a document is used before the store is asked again.
    public let maximumAge: Duration
    /// Entries beyond which the cache is cleared (bounded memory).
    public let capacity: Int

    public init(maximumAge: Duration = .seconds(1), capacity: Int = 65_536) {
        self.maximumAge = maximumAge
        self.capacity = max(1, capacity)
    }

    /// The generation to hand back to ``remember(_:for:ticket:)``: read it before the store read.
    public func ticket() -> UInt64 { state.withLockedValue { $0.generation } }

    /// Remembers `document` for `certificate` unless an event invalidated the cache since `ticket`.
    public func remember(_ document: Document, for certificate: Certificate, ticket: UInt64) {
        let key = CertificateIdentity(certificate)
        let now = ContinuousClock.now
        state.withLockedValue { state in
            guard state.generation == ticket else { return }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = Entry(document: document, storedAt: now)
        }
    }

    /// The remembered document for `key` if it still says what the store would say at `now`
    /// (the injected clock's time), else `nil` ("ask the store").
    func document(for key: CertificateIdentity, at now: Date) -> Document? {
        let instant = ContinuousClock.now
        let entry = state.withLockedValue { $0.entries[key] }
        guard let entry, instant - entry.storedAt < maximumAge else { return nil }
        let document = entry.document
        guard document.notBefore <= now, now < document.notAfter else { return nil }
        if let renewFrom = document.renewFrom, (document.answeredAt >= renewFrom) != (now >= renewFrom) { return nil }
        return document
    }

    /// Forgets every document. Synchronous: no request after its return is answered from an older view.
    public func invalidateAll() {
        state.withLockedValue {
            $0.generation &+= 1
            $0.entries.removeAll()
        }
    }

    /// Number of remembered documents (for tests).
    public var count: Int { state.withLockedValue { $0.entries.count } }

    /// Every event can change some agent's answer (a renewal supersedes, a revocation revokes, an
    /// issuance or decision changes an agent's certificates): all are forgotten, which costs one
    /// store read per agent after a rare event.
    public func authorityEventOccurred(_ event: AuthorityEvent) async {
        invalidateAll()
    }
}
