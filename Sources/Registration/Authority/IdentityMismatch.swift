import Foundation

/// How a renewal request names another identity than the agent its client certificate was issued
/// to. RFC 7030 §4.2.2: re-enrolment keeps the subject and subjectAltName, so one agent's
/// certificate can never renew another agent's name. Decided in one place,
/// ``RegistrationAuthority/evaluateRenewal(presentedSerial:request:)``, against the agent the
/// store records for the presented certificate; neither the HTTP route nor the CSR policy repeats it.
public enum IdentityMismatch: Hashable, Sendable, CustomStringConvertible {
    /// The CSR names another agent UUID (`URI:urn:uuid:` SAN): a request for another agent.
    case agentID(requested: AgentID, certified: AgentID)
    /// The CSR keeps the agent's UUID but names another hostname (`DNS:` SAN).
    case hostname(requested: String, certified: String)

    /// What `request` changes about `agent`'s identity, or `nil` when it repeats it. The UUID is
    /// compared first: a CSR for another agent is that, whatever hostname it names.
    public static func between(_ request: RequestIdentity, _ agent: Agent) -> IdentityMismatch? {
        if request.agentID != agent.id { return .agentID(requested: request.agentID, certified: agent.id) }
        if request.hostname != agent.hostname { return .hostname(requested: request.hostname, certified: agent.hostname) }
        return nil
    }

    /// A stable name of the mismatch for logs and tests (`agent_id`, `hostname`).
    public var code: String {
        switch self {
        case .agentID: "agent_id"
        case .hostname: "hostname"
        }
    }

    public var description: String {
        switch self {
        case .agentID(let requested, let certified):
            "the CSR names agent \(requested), the client certificate belongs to agent \(certified); "
                + "a renewal keeps the agent's identity (each agent renews with its own certificate)"
        case .hostname(let requested, let certified):
            "the CSR names hostname \(requested), the client certificate's agent is \(certified); "
                + "a renewal keeps the hostname (a new name needs a new enrolment)"
        }
    }
}
