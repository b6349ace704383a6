/// The CRLs served on the HTTP listener (seam for the CRL publisher).
public protocol RevocationPublisher: Sendable {
    /// DER of the current CRL of `issuer`, or `nil` when none has been published yet (→ 404).
    func currentCRL(issuer: CRLIssuer) async throws -> [UInt8]?
    /// DER of the current CRL of the intermediate whose SKI is `issuerID` (lower-case hex), current
    /// or retiring (`/crl/issuer/<issuerID>.crl`); nil when it is not ours or not yet published.
    func currentCRL(issuerID: String) async throws -> [UInt8]?
}

extension RevocationPublisher {
    /// Publishers with a single issuer serve no per-issuer CRL.
    public func currentCRL(issuerID: String) async throws -> [UInt8]? { nil }
}

/// Which CA's CRL.
public enum CRLIssuer: String, Sendable, CaseIterable {
    case intermediate
    case root
}

/// OCSP (RFC 6960) responder seam.
public protocol OCSPResponding: Sendable {
    /// Answers one DER `OCSPRequest` with a DER `OCSPResponse`. Malformed requests should be
    /// answered with an `malformedRequest` OCSPResponse (RFC 6960 §2.3) rather than thrown.
    func respond(toRequest der: [UInt8]) async throws -> [UInt8]
    /// The pre-signed DER `OCSPResponse` for `der` when the responder's cache already holds a
    /// fresh one for exactly that request (one CertID, no nonce), else nil — never waits, never
    /// signs, never reads the store, so the HTTP listener's fast path may call it on its event
    /// loop (docs/endpoints.md#ocsp). A non-nil answer is the one ``respond(toRequest:)`` would
    /// give now, and is counted the same way.
    func cachedResponse(toRequest der: [UInt8]) -> [UInt8]?
}

extension OCSPResponding {
    /// Responders without a cache have no fast path: every request goes to ``respond(toRequest:)``.
    public func cachedResponse(toRequest der: [UInt8]) -> [UInt8]? { nil }
}
