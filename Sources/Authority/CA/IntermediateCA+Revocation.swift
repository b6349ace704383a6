import Foundation
import X509

extension IntermediateCA: RevocationChecking, AgentRegistry {
    /// The store's answer on every call (``StoreClientStatus``): fail closed on a store error.
    public func revocationStatus(of certificate: Certificate) async throws -> RevocationStatus {
        try await clientStatus.revocationStatus(of: certificate)
    }

    /// Only active agents are registered; a revoked agent is refused even with a good certificate.
    public func registeredAgent(id: String) async throws -> RegisteredAgent? {
        try await clientStatus.registeredAgent(id: id)
    }
}
