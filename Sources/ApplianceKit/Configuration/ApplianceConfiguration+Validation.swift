extension ApplianceConfiguration {
    /// Checks the values are usable and safe; the error names the key path.
    public func validate() throws {
        for (path, listener) in [("https", https), ("http", http), ("console", console.listener)] {
            guard (0...65535).contains(listener.port) else {
                throw ApplianceError.configuration("\(path).port", "must be 0…65535, got \(listener.port)")
            }
            guard !listener.address.isEmpty else {
                throw ApplianceError.configuration("\(path).address", "must not be empty")
            }
        }
        if https.port != 0, https.port == http.port, https.address == http.address {
            throw ApplianceError.configuration("http.port", "must differ from https.port")
        }
        if console.enabled, console.listener.port != 0 {
            for (path, other) in [("https", https), ("http", http)]
            where other.port == console.listener.port && other.address == console.listener.address {
                throw ApplianceError.configuration("console.port", "must differ from \(path).port")
            }
        }
        guard stateDirectory.hasPrefix("/") else {
            throw ApplianceError.configuration("state_directory", "must be an absolute path")
        }
        guard (1024...(1024 * 1024)).contains(limits.maxESTBodyBytes) else {
            throw ApplianceError.configuration("limits.max_est_body_bytes", "must be 1024…1048576")
        }
        guard (512...(64 * 1024)).contains(limits.maxOCSPRequestBytes) else {
            throw ApplianceError.configuration("limits.max_ocsp_request_bytes", "must be 512…65536")
        }
        guard (1024...(1024 * 1024)).contains(limits.maxHeaderBytes) else {
            throw ApplianceError.configuration("limits.max_header_bytes", "must be 1024…1048576")
        }
        guard limits.requestTimeoutSeconds > 0, limits.requestTimeoutSeconds <= 600 else {
            throw ApplianceError.configuration("limits.request_timeout_seconds", "must be > 0 and ≤ 600")
        }
        guard limits.idleTimeoutSeconds > 0, limits.idleTimeoutSeconds <= 3600 else {
            throw ApplianceError.configuration("limits.idle_timeout_seconds", "must be > 0 and ≤ 3600")
        }
        guard limits.maxConnections >= 1 else {
            throw ApplianceError.configuration("limits.max_connections", "must be at least 1")
        }
        for (path, value) in [
            ("limits.enrollments_per_minute_per_source", limits.enrollmentsPerMinutePerSource),
            ("limits.enrollments_per_minute_per_agent", limits.enrollmentsPerMinutePerAgent),
            ("limits.renewals_per_hour_per_agent", limits.renewalsPerHourPerAgent),
        ] where !(0...1_000_000).contains(value) {
            throw ApplianceError.configuration(path, "must be 0 (off) … 1000000")
        }
        guard (1...86400).contains(enrollment.retryAfterSeconds) else {
            throw ApplianceError.configuration("enrollment.retry_after_seconds", "must be 1…86400")
        }
        guard (1...365).contains(enrollment.pendingExpiryDays) else {
            throw ApplianceError.configuration("enrollment.pending_expiry_days", "must be 1…365")
        }
        guard (0...1_000_000).contains(enrollment.maxPendingPerSource) else {
            throw ApplianceError.configuration("enrollment.max_pending_per_source", "must be 0 (off) … 1000000")
        }
        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        guard levels.contains(logLevel) else {
            throw ApplianceError.configuration("log_level", "must be one of \(levels.joined(separator: ", "))")
        }
        try validateStore()
    }
}
