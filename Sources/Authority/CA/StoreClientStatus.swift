import Foundation
import PKICore
import Registration
import X509

/// Revocation status and registered agents for mTLS, read from the store on every call
/// (docs/conventions.md#fail-closed). A store error propagates and callers refuse the request.
///
/// Needs only the store, not the CA, so the appliance builds its client-status cache (a
/// subscriber of the RA's event stream) before the RA and the CA exist.
public struct StoreClientStatus: RevocationChecking, AgentRegistry {
    let store: any Registration.RevocationStore & AgentStore

    public init(store: any Registration.RevocationStore & AgentStore) { self.store = store }

    /// A certificate the store holds under the same serial but with different bytes, or only as
    /// an unfinished reservation, is `unknown`.
    public func revocationStatus(of certificate: Certificate) async throws -> RevocationStatus {
        let serial = CertificateRecord.serialHex(contentBytes: certificate.serialNumber.bytes)
        switch try await store.revocationStatus(serial: serial) {
        case .unknown:
            return .unknown
        case .revoked(let record):
            return .revoked(reason: record.reason?.name ?? RevocationReason.unspecified.name)
        case .notRevoked(let record):
            let presented = try PEMCodec.der(certificate)
            guard record.status == .issued || record.status == .superseded,
                let stored = record.certificateDER, stored == presented
            else { return .unknown }
            return .good
        }
    }

    /// Only active agents are registered; a revoked agent is refused even with a good certificate.
    public func registeredAgent(id: String) async throws -> RegisteredAgent? {
        guard let agentID = AgentID(id), let agent = try await store.agent(agentID), agent.status == .active else { return nil }
        return RegisteredAgent(id: agent.id.description, hostname: agent.hostname)
    }
}
