import Foundation

/// A managed machine known to the appliance.
public struct Agent: Hashable, Sendable, Codable {
    /// Whether the agent may still obtain and use certificates.
    public enum Status: String, Hashable, Sendable, Codable, CaseIterable {
        case active
        /// Revoked by an administrator; its whole certificate line is revoked and it cannot renew.
        case revoked
    }

    public var id: AgentID
    public var hostname: String
    public var status: Status
    public var created: Date
    /// When the agent was revoked, if it was.
    public var revokedAt: Date?

    public init(id: AgentID, hostname: String, status: Status = .active, created: Date, revokedAt: Date? = nil) {
        self.id = id
        self.hostname = hostname
        self.status = status
        self.created = created
        self.revokedAt = revokedAt
    }
}
