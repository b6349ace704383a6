import Foundation
import PKICore
import X509

/// The agent identity a certificate or request was issued for: host name and UUID, read from the
/// subjectAltName (`DNS:`, `URI:urn:uuid:`) — never from a CN, which is at most the host name and
/// is absent for names over 64 characters (`docs/identity.md`). Certificates of the earlier
/// `CN=agent-{hostname}-{uuid}` scheme carry the same SANs and are read the same way.
public struct AgentSubject: Sendable, Hashable {
    /// Canonical (lower-case) host name.
    public var hostname: String
    /// Lowercase canonical UUID text.
    public var uuid: String

    public init(hostname: String, uuid: String) {
        self.hostname = NameSyntax.asciiLowercased(hostname)
        self.uuid = uuid.lowercased()
    }

    init(_ identity: AgentIdentity) {
        self.init(hostname: identity.hostname, uuid: identity.uuid)
    }

    /// The common name of the earlier scheme, `agent-{hostname}-{uuid}`: what old agents put in
    /// their CSRs, and a stable per-agent key (rate limits).
    public var commonName: String { "agent-\(hostname)-\(uuid)" }

    /// Parses an earlier-scheme common name; `nil` when it does not have that format.
    public init?(commonName: String) {
        guard let identity = try? AgentIdentity(legacyCommonName: commonName) else { return nil }
        self.init(identity)
    }

    /// The agent identity of a certificate (SAN, with a CN that agrees); `nil` when it names none.
    public init?(certificate: Certificate) {
        guard let identity = try? AgentIdentity(certifiedBy: certificate) else { return nil }
        self.init(identity)
    }

    /// The agent identity a CSR asks for (SAN, with a CN that agrees); `nil` when it names none.
    public init?(csr: CertificateSigningRequest) {
        guard let identity = try? AgentIdentity(requestedBy: csr) else { return nil }
        self.init(identity)
    }
}
