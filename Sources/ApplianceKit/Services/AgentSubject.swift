import Foundation
import X509

/// The identity in an agent certificate's subject: `CN=agent-{hostname}-{uuid}` (DESIGN §2).
public struct AgentSubject: Sendable, Hashable {
    public var hostname: String
    /// Lowercase canonical UUID text.
    public var uuid: String

    public init(hostname: String, uuid: String) {
        self.hostname = hostname
        self.uuid = uuid.lowercased()
    }

    /// The common name this identity is issued under.
    public var commonName: String { "agent-\(hostname)-\(uuid)" }

    /// Parses a common name; `nil` when it does not have the agent format. The UUID is the last 36
    /// characters, so hostnames containing dashes parse unambiguously.
    public init?(commonName: String) {
        let prefix = "agent-"
        guard commonName.hasPrefix(prefix), commonName.count > prefix.count + 37 else { return nil }
        let uuidText = String(commonName.suffix(36))
        let beforeUUID = commonName.dropLast(37)
        guard commonName.dropLast(36).hasSuffix("-"), UUID(uuidString: uuidText) != nil else { return nil }
        let hostname = String(beforeUUID.dropFirst(prefix.count))
        guard !hostname.isEmpty,
              hostname.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") })
        else { return nil }
        self.init(hostname: hostname, uuid: uuidText)
    }

    /// The agent identity of a certificate's subject, if its (single) CN has the agent format.
    public init?(certificate: Certificate) {
        let commonNames = certificate.subject.flatMap { $0 }.filter { $0.type == .RDNAttributeType.commonName }
        guard commonNames.count == 1, let name = commonNames.first.map({ String(describing: $0.value) }) else { return nil }
        self.init(commonName: name)
    }
}
