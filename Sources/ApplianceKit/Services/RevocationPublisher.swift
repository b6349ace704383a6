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
}
