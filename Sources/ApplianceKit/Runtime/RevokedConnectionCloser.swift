import Logging
import ServiceLifecycle

/// Closes open mTLS connections the moment their client certificate is revoked: it follows the
/// `RevocationCoordinator`'s stream of revoked serials (fed after the store records each
/// revocation) and asks the ``ConnectionRegistry`` to close them.
public struct RevokedConnectionCloser: Service {
    let coordinator: RevocationCoordinator
    let connections: ConnectionRegistry
    let logger: Logger

    public init(coordinator: RevocationCoordinator, connections: ConnectionRegistry, logger: Logger) {
        self.coordinator = coordinator
        self.connections = connections
        self.logger = logger
    }

    public func run() async throws {
        for await serial in coordinator.revokedSerials().cancelOnGracefulShutdown() {
            let closed = connections.closeConnections(serial: serial)
            if closed > 0 {
                logger.notice("closed connections of a revoked certificate", metadata: ["serial": "\(serial)", "connections": "\(closed)"])
            }
        }
    }
}
