import Authority

/// The CRL publication of a CA built without CRL publishers (unit tests of the CA): forcing a
/// CRL is refused with the reason, never answered as if a CRL had been published.
struct NoCRLPublication: CRLPublishing {
    func publishNow() async throws -> String {
        throw ApplianceError.unavailable("this test CA has no CRL publisher")
    }
}
