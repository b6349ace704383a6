/// What the CA asks when an administrator forces a CRL (`appliance crl generate`): the
/// appliance's CRL publishers, one per active issuer. Required when the CA is built, so the
/// command can never find it missing.
public protocol CRLPublishing: Sendable {
    /// Builds, signs and publishes every issuer's CRL now; returns one line per CRL published.
    func publishNow() async throws -> String
}
