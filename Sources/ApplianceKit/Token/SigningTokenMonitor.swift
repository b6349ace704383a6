import Logging
import PKCS11
import ServiceLifecycle

/// Watches the token that holds the intermediate key (docs/lifecycle.md#signing-token `rootkeeper_hsm_up`; issue 6:
/// "HSM token removed while serving").
///
/// Every `interval` it probes the token: while the token is away `rootkeeper_hsm_up` is 0,
/// `/health` answers 503 with the reason, and every signature fails closed (the key never falls
/// back to anything); when the token is back the probe reconnects and logs in again, and the
/// appliance recovers without a restart. Transitions are logged once each, not every probe.
/// When the token is back, a CRL publication that failed while it was away (a revocation made
/// meanwhile, such as the reservation released by the failed signature) is retried at once.
public struct SigningTokenMonitor: Service {
    let connection: PKCS11KeyConnection
    let crlPublishers: IssuerCRLPublishers
    let metrics: ApplianceMetrics
    let logger: Logger
    let interval: Duration

    public init(
        connection: PKCS11KeyConnection, crlPublishers: IssuerCRLPublishers, metrics: ApplianceMetrics, logger: Logger,
        interval: Duration = .seconds(2)
    ) {
        self.connection = connection
        self.crlPublishers = crlPublishers
        self.metrics = metrics
        self.logger = logger
        self.interval = interval
        metrics.registry.set("rootkeeper_hsm_up", to: connection.availability == .available ? 1 : 0)
    }

    /// What `/health` should say about the signing key.
    public var health: PublisherHealth {
        switch connection.availability {
        case .available: .healthy
        case .unavailable(let reason): .degraded(reason: "the intermediate key's token is unavailable (\(reason)); issuance is refused")
        }
    }

    public func run() async throws {
        let initial = connection.availability
        await cancelWhenGracefulShutdown {
            var last = initial
            while !Task.isCancelled {
                let now = connection.probe()
                metrics.registry.set("rootkeeper_hsm_up", to: now == .available ? 1 : 0)
                if now != last {
                    switch now {
                    case .available:
                        logger.notice("the intermediate key's token is back; signing resumed")
                        for publisher in crlPublishers.all { await publisher.signingResumed() }
                    case .unavailable(let reason):
                        logger.error(
                            "the intermediate key's token is unavailable; signing is refused until it returns",
                            metadata: ["reason": "\(reason)"])
                    }
                    last = now
                }
                try? await Task.sleep(for: interval)  // Cancellation ends the loop above.
            }
        }
    }
}
