import Foundation
import PKICore
import Registration
import X509

extension IntermediateCA {
    /// An agent CSR after the policy: reviewed, with the RA's view of it, or refused with a reason
    /// for the client. Malformed DER is a policy rejection for the client, not a 503.
    enum AgentRequestCheck {
        case accepted(CSRReview, RequestIdentity)
        case rejected(String)
    }

    /// The one intake of an agent CSR for `simpleenroll` and `simplereenroll`: the CSR policy
    /// (docs/profiles.md#csr-policy), then the identity it names as the RA takes it. Whether that
    /// identity may be issued is the RA's decision, not this check's.
    static func agentRequest(csrDER: [UInt8]) throws -> AgentRequestCheck {
        let decision: CSRDecision
        do {
            decision = try CSRPolicy(purpose: .agent).evaluate(csrDER)
        } catch let error as PKIError {
            return .rejected("the CSR cannot be decoded: \(error.reason)")
        }
        switch decision {
        case .reject(let reason): return .rejected(reason)
        case .accept(let review):
            guard let name = review.agentIdentity, let agentID = AgentID(name.uuid) else {
                return .rejected("the CSR does not name an agent identity")
            }
            return .accepted(review, RequestIdentity(hostname: name.hostname, agentID: agentID, spkiSHA256: review.spkiSHA256Hex, csrDER: csrDER))
        }
    }

    /// A refusal as a sentence safe to show to the requesting agent.
    static func describe(_ refusal: Refusal) -> String {
        switch refusal {
        case .invalidToken(let reason): return "enrolment token refused: \(reason)"
        case .conflict(let other):
            let id = other.id.uuidString.lowercased()
            return "hostname \(other.hostname) is held by registration \(id) for another agent or key; "
                + "resume with that agent's --out directory, or an administrator frees it with: appliance agents release \(id)"
        case .alreadyEnrolled(let reason): return reason
        case .agentRevoked(let id): return "agent \(id) has been revoked"
        case .notRenewable(let reason): return reason
        case .identityMismatch(let mismatch): return mismatch.description
        case .notYetDue(let renewFrom): return "renewal is not open yet; renew from \(ISO8601DateFormatter().string(from: renewFrom))"
        case .reservedName(let name):
            return "hostname \(name) is one of this appliance's own names (its server certificate or listeners); an agent cannot be issued it"
        case .invalidHostname(let reason): return reason
        case .tooManyPending(let source, let limit):
            return
                "too many pending registrations from \(source) (limit \(limit)); ask an administrator to approve or reject them, or enrol with a token"
        case .registrationExpired(let registration):
            return
                "registration \(registration.id.uuidString.lowercased()) for \(registration.hostname) expired before it was approved; the agent must enrol again"
        }
    }

    /// The reason names a revocation may carry, for help texts (`unspecified` is recorded without a
    /// reason code on the CRL, RFC 5280 §5.3.1).
    public static var acceptedRevocationReasonNames: String {
        RevocationReason.acceptedForRevocation.map(\.name).joined(separator: ", ")
    }

    /// Why `reason` is refused for a revocation (``RevocationReason/isAcceptedForRevocation``).
    static func refusedReasonMessage(_ reason: RevocationReason) -> String {
        switch reason {
        case .removeFromCRL:
            "revocation reason removeFromCRL is refused: it is only for delta CRLs (RFC 5280 §5.3.1) and this CA publishes full CRLs"
        case .certificateHold:
            "revocation reason certificateHold is refused: this CA cannot release a hold, so a held certificate would stay revoked for ever; revoke with a final reason instead"
        default:
            "revocation reason \(reason.name) is refused"
        }
    }

    /// Parses an RFC 5280 §5.3.1 reason name (case-insensitive, `-`/`_` ignored); empty → none.
    /// Refuses the reasons a full CRL of this CA cannot carry (removeFromCRL, certificateHold).
    public static func revocationReason(_ text: String) throws -> RevocationReason? {
        let normalized = text.filter { $0 != "-" && $0 != "_" && $0 != " " }
        if normalized.isEmpty { return nil }
        let names = RevocationReason.acceptedForRevocation.map(\.name).joined(separator: ", ")
        guard let reason = RevocationReason(name: normalized) else {
            throw ApplianceError.malformed("unknown revocation reason '\(text)'; use one of: \(names)")
        }
        guard reason.isAcceptedForRevocation else {
            throw ApplianceError.malformed(Self.refusedReasonMessage(reason) + "; use one of: \(names)")
        }
        return reason
    }
}
