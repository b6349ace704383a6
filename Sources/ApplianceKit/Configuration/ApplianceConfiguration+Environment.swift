extension ApplianceConfiguration {
    /// Applies `ROOTKEEPER_*` environment overrides (see ``ConfigurationKey/environmentVariable``).
    /// A `ROOTKEEPER_` variable that names no key is ignored, because the prefix is shared with
    /// other tools' settings; a known variable with a bad value is an error naming it.
    public func applyingEnvironment(_ environment: [String: String]) throws -> ApplianceConfiguration {
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
}
