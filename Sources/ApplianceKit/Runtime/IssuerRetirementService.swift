import Logging
import ServiceLifecycle

/// Runs ``IssuerRetirement`` while the appliance serves (it also runs once at start, in
/// ``ApplianceRuntime``), so an intermediate whose last certificate expires mid-run is retired
/// within ``interval``.
struct IssuerRetirementService: Service {
    let retirement: IssuerRetirement
    var interval: Duration = .seconds(3600)

    func run() async throws {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        // Never returns before shutdown: a service that ends would stop the whole group.
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            guard !retirement.roster.retiring.isEmpty else { continue }
            do {
                try await retirement.retireDue()
            } catch {
                // Retiring late is safe (the issuer keeps being served); the next round retries.
                retirement.logger.error("intermediate retirement check failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
