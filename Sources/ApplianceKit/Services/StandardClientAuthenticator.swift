import Foundation
import PKICore
import SwiftASN1
import X509

/// The production ``ClientAuthenticator``: chain to the pinned root via a current intermediate,
/// validity at the injected clock, clientAuth extended key usage, agent subject format,
/// revocation from the store and the registered identity.
public struct StandardClientAuthenticator: ClientAuthenticator {
    let trust: ClientTrust
    let revocation: any RevocationChecking
    let registry: any AgentRegistry
    let clock: any PKIClock

    public init(trust: ClientTrust, revocation: any RevocationChecking, registry: any AgentRegistry, clock: any PKIClock = SystemClock()) {
        self.trust = trust
        self.revocation = revocation
        self.registry = registry
        self.clock = clock
    }

    public func authenticate(_ certificate: Certificate?) async throws -> ClientAuthentication {
        guard let certificate else {
            return .unauthenticated(reason: "a client certificate is required", metricReason: "no_certificate")
        }
        let now = clock.now()
        guard certificate.notValidBefore <= now, now <= certificate.notValidAfter else {
            return .unauthenticated(reason: "client certificate is outside its validity period", metricReason: "expired")
        }
        if let failure = await trust.verify(leaf: certificate) {
            return .unauthenticated(reason: failure, metricReason: "untrusted_chain")
        }
        // A malformed EKU extension is treated like a missing one: refused.
        let usages = (try? certificate.extensions.extendedKeyUsage) ?? nil
        guard let usages, usages.contains(.clientAuth) else {
            return .forbidden(reason: "client certificate lacks the clientAuth extended key usage", metricReason: "wrong_usage")
        }
        guard let identity = AgentSubject(certificate: certificate) else {
            return .forbidden(
                reason: "client certificate does not name an agent (subjectAltName DNS:{hostname} and URI:urn:uuid:{uuid})",
                metricReason: "subject_format")
        }
        switch try await revocation.revocationStatus(of: certificate) {
        case .good:
            break
        case .revoked(let reason):
            return .forbidden(reason: "client certificate is revoked (\(reason))", metricReason: "revoked")
        case .unknown:
            return .forbidden(reason: "client certificate is not known to this CA", metricReason: "unknown_certificate")
        }
        guard let registered = try await registry.registeredAgent(id: identity.uuid) else {
            return .forbidden(reason: "agent \(identity.uuid) is not registered", metricReason: "unregistered")
        }
        guard registered.hostname == identity.hostname else {
            return .forbidden(
                reason: "certificate hostname \(identity.hostname) does not match registered \(registered.hostname)",
                metricReason: "identity_mismatch")
        }
        return .authenticated(AuthenticatedAgent(certificate: certificate, identity: identity))
    }
}
