import Foundation

/// The stable identity of an agent: the UUID that appears in its certificate as
/// `URI:urn:uuid:{uuid}` (docs/profiles.md#agent-identity, docs/identity.md).
public struct AgentID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The UUID.
    public let uuid: UUID

    public init(_ uuid: UUID) { self.uuid = uuid }

    /// Parses the canonical textual form; `nil` if it is not a UUID.
    public init?(_ string: String) {
        guard let uuid = UUID(uuidString: string) else { return nil }
        self.uuid = uuid
    }

    /// Lower-case canonical form, as it appears in `urn:uuid:` (RFC 4122 §3 says lower case on output).
    public var description: String { uuid.uuidString.lowercased() }

    public static func < (lhs: AgentID, rhs: AgentID) -> Bool { lhs.description < rhs.description }
}
