import X509

/// The outcome of checking a CSR against a ``CSRPolicy`` (docs/conventions.md#outcomes-are-values: policy outcomes are values).
public enum CSRDecision: Sendable {
    /// The CSR may be signed; the review describes it for previews and audit.
    case accept(CSRReview)
    /// The CSR is refused; the reason is a sentence for the requester and the log.
    case reject(reason: String)

    /// The rejection reason, or nil when accepted.
    public var rejectionReason: String? {
        if case .reject(let reason) = self { return reason }
        return nil
    }

    /// The review, or nil when rejected.
    public var review: CSRReview? {
        if case .accept(let review) = self { return review }
        return nil
    }
}

/// What a reviewer (a ceremony witness, an administrator) needs to see about an accepted CSR.
public struct CSRReview: Sendable {
    public let csr: CertificateSigningRequest
    /// Key type and size as we parsed it.
    public let keyAlgorithm: KeyAlgorithm
    /// SHA-256 of the SPKI, hex.
    public let spkiSHA256Hex: String
    /// The agent identity from the subjectAltName, for agent CSRs.
    public let agentIdentity: AgentIdentity?
    /// Extensions the requester asked for. None of them is copied: the profile decides.
    public let requestedExtensions: [RequestedExtension]
}

/// One extension a CSR requested, as shown in a preview.
public struct RequestedExtension: Sendable, Hashable, CustomStringConvertible {
    /// Extension OID in dotted form.
    public let oid: String
    /// Human summary, e.g. `basicConstraints CA:TRUE pathLen:5`.
    public let summary: String
    /// Always true: Rootkeeper's profiles never copy requested extensions.
    public let overriddenByProfile: Bool

    public var description: String { "\(summary) (requested; the profile overrides it)" }
}
