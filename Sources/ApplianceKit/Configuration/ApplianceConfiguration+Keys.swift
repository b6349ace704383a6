import Foundation
import Yams

extension ApplianceConfiguration {
    /// The scalar a configuration file gives for `key` (a dotted path such as `state_directory` or
    /// `https.port`), or nil when the file does not set it: lets a command tell a value the file
    /// chose from a default (e.g. to refuse `--state-dir` contradicting the file).
    public static func value(of key: String, inFile path: String) throws -> String? {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ApplianceError.configuration("(file)", "cannot read configuration file \(path)")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: String(decoding: data, as: UTF8.self))
        } catch {
            throw ApplianceError.configuration("(file)", "not valid YAML: \(error)")
        }
        var node = root
        for component in key.split(separator: ".") {
            guard case .mapping(let mapping)? = node else { return nil }
            node = mapping.first { $0.key.string == String(component) }?.value
        }
        guard case .scalar(let scalar)? = node else { return nil }
        return scalar.string
    }
}
