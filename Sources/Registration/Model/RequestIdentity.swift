import Foundation

/// What the RA needs to know about a certificate request, already extracted and verified
/// (proof-of-possession checked) by the CSR parser in PKICore. The RA never parses DER itself.
public struct RequestIdentity: Hashable, Sendable {
    /// The hostname the agent asks for (the `DNS:` SAN), canonical lower case (`docs/identity.md`).
    public var hostname: String
    /// The agent's UUID (`URI:urn:uuid:` SAN).
    public var agentID: AgentID
    /// SHA-256 of the request's DER SubjectPublicKeyInfo, lower-case hex.
    public var spkiSHA256: String
    /// The PKCS#10 request as received (kept so an administrator can inspect it before approving).
    public var csrDER: [UInt8]

    public init(hostname: String, agentID: AgentID, spkiSHA256: String, csrDER: [UInt8]) {
        self.hostname = hostname
        self.agentID = agentID
        self.spkiSHA256 = spkiSHA256
        self.csrDER = csrDER
    }
}
