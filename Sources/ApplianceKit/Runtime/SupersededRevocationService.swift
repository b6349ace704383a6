import Logging
import ServiceLifecycle

/// Applies `ca.revoke_superseded_after_hours` (docs/lifecycle.md#supersession): every few minutes, certificates
/// superseded by a renewal longer ago than the policy allows are revoked with reason superseded;
/// the RA's event stream tells the revocation services.
struct SupersededRevocationService: Service {
    let ca: IntermediateCA
    let logger: Logger
    var interval: Duration = .seconds(300)

    func run() async throws {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        while !Task.isCancelled {
            do {
                let results = try await ca.authority.revokeDueSuperseded(by: "policy:revoke-superseded-after")
                // The RA's unit of work has told the revocation services and metrics already.
                if !results.isEmpty {
                    logger.notice("revoked superseded certificates", metadata: ["count": "\(results.count)"])
                }
            } catch {
                // Not a signing path: the next round retries; the failure is logged, not swallowed.
                logger.error("revoking superseded certificates failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
