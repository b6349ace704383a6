/// The agent subject common name `agent-{hostname}-{uuid}` (DESIGN §2).
///
/// The hostname may itself contain hyphens, so parsing takes the UUID from the fixed-length
/// (36 character) tail rather than splitting on `-`.
public struct AgentCommonName: Sendable, Hashable, CustomStringConvertible {
    public let hostname: String
    public let uuid: String

    /// Builds the name, validating the hostname (RFC 1123) and UUID (RFC 4122, lowercase).
    public init(hostname: String, uuid: String) throws {
        guard NameSyntax.isValidHostname(hostname) else {
            throw PKIError.invalidParameter("'\(hostname)' is not an RFC 1123 host name")
        }
        guard NameSyntax.isValidUUID(uuid) else {
            throw PKIError.invalidParameter("'\(uuid)' is not a lowercase RFC 4122 UUID")
        }
        self.hostname = hostname
        self.uuid = uuid
    }

    /// Parses a common name; the error reason says which part is wrong.
    public init(parsing commonName: String) throws {
        let prefix = "agent-"
        guard commonName.hasPrefix(prefix) else {
            throw PKIError.policy("common name '\(commonName)' does not start with 'agent-'")
        }
        let rest = commonName.dropFirst(prefix.count)
        guard rest.count > 37 else {
            throw PKIError.policy("common name '\(commonName)' is not agent-{hostname}-{uuid}")
        }
        let uuid = String(rest.suffix(36))
        let separator = rest.dropLast(36).last
        let hostname = String(rest.dropLast(37))
        guard separator == "-" else {
            throw PKIError.policy("common name '\(commonName)' is not agent-{hostname}-{uuid}")
        }
        do {
            try self.init(hostname: hostname, uuid: uuid)
        } catch let error as PKIError {
            throw PKIError.policy("common name '\(commonName)': \(error.reason)")
        }
    }

    public var description: String { "agent-\(hostname)-\(uuid)" }
}
