import Foundation
import Logging
import ServiceLifecycle

/// Background rotation of the appliance's TLS server certificate as a ServiceLifecycle `Service`
/// (docs/conventions.md#composition-root): checks every `interval` and re-issues from 30 days before expiry. A failed
/// attempt is logged and retried at the next interval — the current certificate still has up to
/// 30 days left, so a short store or HSM outage must not stop the appliance.
public struct ServerCertificateRotationService: Service {
    let manager: ServerCertificateManager
    let interval: Duration
    let logger: Logger

    public init(manager: ServerCertificateManager, interval: Duration = .seconds(3600), logger: Logger) {
        self.manager = manager
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    await rotateOnce()
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {
            return
        }
    }

    func rotateOnce() async {
        do {
            if try await manager.rotateIfDue() {
                logger.notice("server certificate rotated", metadata: ["certificate": "\(manager.currentSerial() ?? "-")"])
            }
        } catch {
            logger.error("server certificate rotation failed; retrying at the next interval", metadata: ["error": "\(error)"])
        }
    }
}

extension ServerCertificateManager {
    /// The current certificate's serial (hex), for logs.
    func currentSerial() -> String? {
        guard let certificate = try? currentCertificate() else { return nil }
        return IntermediateCA.serialHex(certificate)
    }
}
