extension ApplianceConfiguration {
    /// Variables with the `ROOTKEEPER_` prefix that are not configuration keys: the test harness's
    /// own (`ROOTKEEPER_TEST_…`, read by test fixtures), the test runner's binary and release
    /// directories, and the build identity `scripts/release.sh` passes to the compiler.
    static let nonConfigurationVariables: [String] = [
        "ROOTKEEPER_BIN_DIR", "ROOTKEEPER_RELEASE_DIR", "ROOTKEEPER_VERSION", "ROOTKEEPER_RELEASE_VERSION", "ROOTKEEPER_COMMIT",
        "ROOTKEEPER_BUILD_DATE",
    ]
    static let testVariablePrefix = "ROOTKEEPER_TEST_"

    /// Applies `ROOTKEEPER_*` environment overrides (see ``ConfigurationKey/environmentVariable``).
    /// A misspelt variable is an error, as an unknown YAML key is (docs/configuration.md): an
    /// override that silently does nothing would leave the operator believing it took effect.
    /// A known variable with a bad value is an error naming it.
    public func applyingEnvironment(_ environment: [String: String]) throws -> ApplianceConfiguration {
        let known = Set(ConfigurationKey.all.map(\.environmentVariable))
        let unknown = environment.keys.filter { name in
            name.hasPrefix("ROOTKEEPER_") && !known.contains(name) && !name.hasPrefix(Self.testVariablePrefix)
                && !Self.nonConfigurationVariables.contains(name)
        }.sorted()
        if let name = unknown.first {
            let suggestion = Self.closest(to: name, among: known.sorted()).map { " (did you mean \($0)?)" } ?? ""
            throw ApplianceError(
                .invalidConfiguration,
                "\(name) is set but is not a configuration variable\(suggestion); unset it or correct its name "
                    + "(every key and its variable is listed in docs/configuration.md)")
        }
        var configuration = self
        for key in ConfigurationKey.all {
            guard let value = environment[key.environmentVariable] else { continue }
            do {
                try key.apply(&configuration, value)
            } catch let error as ApplianceError {
                throw ApplianceError(error.code, "\(key.environmentVariable): \(error.reason)")
            }
        }
        return configuration
    }

    /// The known name nearest to `name` by edit distance, if it is close enough to be a typo.
    static func closest(to name: String, among names: [String]) -> String? {
        let scored = names.map { ($0, editDistance(Array(name), Array($0))) }.min { $0.1 < $1.1 }
        guard let (best, distance) = scored, distance <= max(2, name.count / 5) else { return nil }
        return best
    }

    /// Levenshtein distance (insertions, deletions and substitutions each cost one).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
