/// The CRLs served on the HTTP listener (seam for the CRL publisher).
public protocol RevocationPublisher: Sendable {
    /// DER of the current CRL of `issuer`, or `nil` when none has been published yet (→ 404).
    func currentCRL(issuer: CRLIssuer) async throws -> [UInt8]?
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
