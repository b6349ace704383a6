extension ApplianceError {
    /// A backup archive that cannot be accepted: malformed, truncated, altered, unsupported, or
    /// with KDF parameters out of bounds. Nothing has been written when this is thrown.
    static func backupRejected(_ reason: String) -> ApplianceError { ApplianceError(.malformedRequest, "backup rejected: \(reason)") }
}
