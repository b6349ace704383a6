/// Everything `appliance serve` can be told, with the defaults of DESIGN §4.
///
/// A plain value (STYLE §17): loading (`ApplianceConfiguration+YAML.swift`), environment
/// overrides (`+Environment.swift`) and validation (`+Validation.swift`) live in separate files.
/// Every key is listed, with its YAML path and environment variable, in ``ConfigurationKey/all``
/// and in `docs/configuration.md`.
public struct ApplianceConfiguration: Sendable, Equatable {
    /// `state_directory` — root of the state layout (DESIGN §4). Env `ROOTKEEPER_STATE_DIRECTORY`.
    public var stateDirectory: String = "/var/lib/rootkeeper"
    /// `https` — the EST + agent API listener.
    public var https = Listener(address: "0.0.0.0", port: 8443)
    /// `http` — the CRL / OCSP / CA-certificates / health / metrics listener.
    public var http = Listener(address: "0.0.0.0", port: 8080)
    /// `limits` — request and connection limits applied to both listeners.
    public var limits = Limits()
    /// `enrollment` — EST enrolment behaviour.
    public var enrollment = Enrollment()
    /// `log_level` — trace, debug, info, notice, warning, error or critical. Env `ROOTKEEPER_LOG_LEVEL`.
    public var logLevel: String = "info"

    public init() {}

    /// One listening socket.
    public struct Listener: Sendable, Equatable {
        /// `<listener>.address` — IP address to bind (`0.0.0.0` for all IPv4 interfaces).
        public var address: String
        /// `<listener>.port` — TCP port; 0 lets the OS choose (tests).
        public var port: Int
        public init(address: String, port: Int) {
            self.address = address
            self.port = port
        }
    }

    /// Limits that protect the appliance from oversized or slow clients.
    public struct Limits: Sendable, Equatable {
        /// `limits.max_est_body_bytes` — largest EST request body; larger bodies get 413. A
        /// base64 P-384 or RSA-4096 CSR is well under 4 KiB.
        public var maxESTBodyBytes: Int = 16 * 1024
        /// `limits.max_header_bytes` — largest total size of a request's header block.
        public var maxHeaderBytes: Int = 16 * 1024
        /// `limits.request_timeout_seconds` — time allowed to handle one request.
        public var requestTimeoutSeconds: Double = 30
        /// `limits.idle_timeout_seconds` — an idle keep-alive connection is closed after this.
        public var idleTimeoutSeconds: Double = 60
        /// `limits.max_connections` — concurrent connections per listener; further ones wait.
        public var maxConnections: Int = 1024
        public init() {}
    }

    /// EST enrolment behaviour.
    public struct Enrollment: Sendable, Equatable {
        /// `enrollment.retry_after_seconds` — Retry-After sent with 202 while a registration is
        /// pending approval (RFC 7030 §4.2.3), unless the CA service names its own.
        public var retryAfterSeconds: Int = 60
        public init() {}
    }
}
