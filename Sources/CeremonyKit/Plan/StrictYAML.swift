import Foundation
import Yams

/// Strict YAML decoding for plans and environments (docs/conventions.md#strict-decoding, after boulder's `strictyaml`).
///
/// `Codable` ignores unknown keys, so a typo such as `validty-years` would silently fall back to a
/// default. Here every document is decoded in three steps, each failing with the key path:
/// 1. Yams composes the node tree and refuses duplicate keys;
/// 2. the tree is decoded into `T` (type errors and missing fields name their path);
/// 3. `T` is encoded again and every mapping key of the input that did not survive the round trip is
///    reported as unknown.
public enum StrictYAML {
    /// Decodes `text` into `T`, refusing duplicate keys, unknown keys, wrong types and missing fields.
    public static func decode<T: Codable>(_ type: T.Type, from text: String, document: String) throws -> T {
        let node: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                throw CeremonyError.plan("\(document) is empty")
            }
            node = composed
        } catch let error as YamlError {
            throw CeremonyError.plan("\(document): \(describe(error))")
        }
        guard case .mapping = node else { throw CeremonyError.plan("\(document): the top level must be a mapping") }

        let value: T
        do {
            value = try YAMLDecoder().decode(T.self, from: node)
        } catch let error as DecodingError {
            throw CeremonyError.plan("\(document): \(describe(error))")
        }

        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value))
        if let unknown = unknownKeyPath(in: node, comparedWith: encoded, path: []) {
            throw CeremonyError.plan(
                "\(document): unknown key '\(unknown)': misspelt, or not a key of this document (the keys are in docs/ceremony.md; `ceremony template` prints a plan with every key)"
            )
        }
        return value
    }

    /// The first key path present in `node` but absent from the re-encoded value.
    static func unknownKeyPath(in node: Node, comparedWith encoded: Any, path: [String]) -> String? {
        switch node {
        case .mapping(let mapping):
            let known = encoded as? [String: Any] ?? [:]
            for (keyNode, valueNode) in mapping {
                let key = keyNode.string ?? "\(keyNode)"
                guard let child = known[key] else { return (path + [key]).joined(separator: ".") }
                if let found = unknownKeyPath(in: valueNode, comparedWith: child, path: path + [key]) { return found }
            }
        case .sequence(let sequence):
            let items = encoded as? [Any] ?? []
            for (index, item) in sequence.enumerated() where index < items.count {
                if let found = unknownKeyPath(in: item, comparedWith: items[index], path: path + ["[\(index)]"]) {
                    return found
                }
            }
        default:
            break
        }
        return nil
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context, extra: CodingKey? = nil) -> String {
            let keys = context.codingPath + (extra.map { [$0] } ?? [])
            let rendered = keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return rendered.isEmpty ? "(top level)" : rendered
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing key '\(path(context, extra: key))'"
        case .typeMismatch(let type, let context):
            return "wrong type at '\(path(context))': expected \(type)"
        case .valueNotFound(let type, let context):
            return "missing value at '\(path(context))': expected \(type)"
        case .dataCorrupted(let context):
            return "invalid value at '\(path(context))': \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    static func describe(_ error: YamlError) -> String {
        if case .duplicatedKeysInMapping(let duplicates, let context) = error {
            return "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) at line \(context.mark.line)"
        }
        return "\(error)"
    }
}
