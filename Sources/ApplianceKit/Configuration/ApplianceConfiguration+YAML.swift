import Foundation
import Yams

extension ApplianceConfiguration {
    /// Loads a YAML configuration on top of the defaults, strictly: an unknown key, a mapping where
    /// a scalar belongs (or the reverse) or an unparsable value is an error naming the key path
    /// (docs/conventions.md#strict-decoding — Codable would silently ignore a misspelt key).
    public static func load(yaml text: String) throws -> ApplianceConfiguration {
        var configuration = ApplianceConfiguration()
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ApplianceError.configuration("(file)", "not valid YAML: \(error)")
        }
        guard let root else { return configuration }
        guard case .mapping(let mapping) = root else {
            throw ApplianceError.configuration("(root)", "expected a mapping of keys")
        }
        try apply(mapping, prefix: "", to: &configuration)
        return configuration
    }

    /// Loads the YAML file at `path`.
    public static func load(file path: String) throws -> ApplianceConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            // The reason (missing, not readable) from the system, and what to do about it.
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            let reason = fd < 0 ? String(cString: strerror(errno)) : "not a readable file"
            if fd >= 0 { close(fd) }
            throw ApplianceError.configuration(
                "--config",
                """
                cannot read the configuration file \(path): \(reason); give the path of the YAML configuration \
                (docs/configuration.md), readable by this user, or leave --config out for the defaults
                """)
        }
        return try load(yaml: String(decoding: data, as: UTF8.self))
    }

    private static func apply(_ mapping: Node.Mapping, prefix: String, to configuration: inout ApplianceConfiguration) throws {
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else {
                throw ApplianceError.configuration(prefix.isEmpty ? "(root)" : prefix, "keys must be strings")
            }
            let path = prefix.isEmpty ? key : "\(prefix).\(key)"
            switch valueNode {
            case .mapping(let nested):
                guard ConfigurationKey.all.contains(where: { $0.path.hasPrefix(path + ".") }) else {
                    throw ApplianceError.configuration(path, "unknown key")
                }
                try apply(nested, prefix: path, to: &configuration)
            case .scalar(let scalar):
                guard let entry = ConfigurationKey.byPath[path] else {
                    throw ApplianceError.configuration(path, "unknown key")
                }
                try entry.apply(&configuration, scalar.string)
            case .sequence(let sequence):
                guard let entry = ConfigurationKey.byPath[path] else {
                    throw ApplianceError.configuration(path, "unknown key")
                }
                guard entry.acceptsList else { throw ApplianceError.configuration(path, "expected a single value") }
                var items: [String] = []
                for item in sequence {
                    guard let text = item.scalar?.string, !text.contains(",") else {
                        throw ApplianceError.configuration(path, "expected a list of plain values")
                    }
                    items.append(text)
                }
                try entry.apply(&configuration, items.joined(separator: ","))
            case .alias:
                throw ApplianceError.configuration(path, "expected a single value")
            }
        }
    }
}
